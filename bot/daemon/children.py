"""Start-up: the wrappers every child process starts through, first on this process's PATH."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from bot.children.cgroup import delegated_parent
from bot.children.wrappers import Children, install, on_path, write_guarded
from bot.config.settings import Settings, StartupError
from bot.config.ytdlp_stage import active_stage
from bot.download.jsruntime import find_deno
from bot.pages.browser import find_browser

# Chromium's DevTools pipe: Playwright talks to the browser on descriptors 3 and 4, which the
# guard between them must hand on.
DEVTOOLS_PIPE = (3, 4)

log = logging.getLogger(__name__)


BROWSER_WRAPPER = "pdf-browser"


def wrappers_folder(data_dir: Path) -> Path:
    return data_dir / "bin"


def install_children(settings: Settings) -> Children:
    """Write the wrappers and put their folder first on PATH. Called once, before any thread
    starts: children inherit PATH (yt-dlp's ffmpeg too); the daemon itself stays unlimited."""
    folder = wrappers_folder(settings.data_dir).resolve()
    try:
        # The deno yt-dlp will run: a staged update's own, else the venv's (before PATH changes).
        deno = find_deno(active_stage(settings.data_dir))
        children = install(folder, settings.child_memory_mb, deno=deno)
    except OSError as exc:
        raise StartupError(f"cannot write the child wrappers in {folder}: {exc}") from exc
    if not os.access(folder / "ffmpeg", os.X_OK) and "ffmpeg" in children.tools:
        raise StartupError(f"{folder} does not allow programs to run (mounted noexec?)")
    browser = _guard_browser(settings, folder)
    os.environ["PATH"] = on_path(folder, os.environ.get("PATH"))
    missing = [name for name in ("ffmpeg", "ffprobe") if name not in children.tools]
    log.info(
        "children_ready ceiling_mb=%d tools=%s rss_bound=%s",
        children.ceiling_mb,
        ",".join(children.tools) or "none",
        "cgroup" if delegated_parent() is not None else "watchdog",
    )
    if missing:
        log.warning("media_tool_missing tool=%s", ",".join(missing))
    if browser is not None:
        log.info("pdf_browser_guarded ceiling_mb=%d browser=%s", settings.pdf_memory_mb, browser)
    return children


def _guard_browser(settings: Settings, folder: Path) -> Path | None:
    """/pdf's Chromium behind the guard, by resident memory (PDF_MEMORY_MB): its wrapper is
    what Playwright starts. None (and no wrapper) without PDF_PAGES or a browser."""
    wrapper = folder / BROWSER_WRAPPER
    browser = find_browser(settings.pdf_browser) if settings.pdf_pages else None
    if browser is None:
        wrapper.unlink(missing_ok=True)  # a stale one must not outlive its browser
        return None
    write_guarded(wrapper, [str(browser)], settings.pdf_memory_mb, pass_fds=DEVTOOLS_PIPE)
    return browser


def guarded_browser(data_dir: Path) -> Path | None:
    """The guarded Chromium start-up wrote (install_children), if it wrote one."""
    wrapper = wrappers_folder(data_dir).resolve() / BROWSER_WRAPPER
    return wrapper if wrapper.is_file() else None


def ytdlp_children(data_dir: Path) -> dict[str, Any]:
    """yt-dlp's options for its children: the wrapped ffmpeg, and deno through its guard."""
    folder = wrappers_folder(data_dir).resolve()
    params: dict[str, Any] = {}
    if (folder / "ffmpeg").is_file():
        params["ffmpeg_location"] = str(folder)
    if (folder / "deno").is_file():
        params["js_runtimes"] = {"deno": {"path": str(folder / "deno")}}
    return params
