"""The JavaScript runtime yt-dlp gets (deno), named in one place: YouTube's player challenge
needs one since yt-dlp 2025.11, and without it formats go missing.

`JsRuntime.option()` is the whole of what yt-dlp is told (its `js_runtimes` parameter), so a
wrapper around the binary (a memory ceiling, a deadline) goes into `path` and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import re
import shutil
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIN_DENO = (2, 3, 0)  # yt-dlp's own minimum for its deno challenge provider
VERSION_TIMEOUT_S = 10.0
_VERSION = re.compile(r"^deno (\d+)\.(\d+)\.(\d+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class JsRuntime:
    """The deno binary yt-dlp runs, or none; `version` once it has been asked."""

    path: Path | None
    version: str | None = None

    def option(self) -> dict[str, dict[str, Any]]:
        """yt-dlp's `js_runtimes`: this deno, by path (never a search of PATH by yt-dlp)."""
        return {"deno": {"path": str(self.path)}} if self.path is not None else {}

    @property
    def label(self) -> str:
        """`deno-2.9.8`, or `none` when yt-dlp has no runtime it can use."""
        return f"deno-{self.version}" if self.path is not None and self.version else "none"


def find_deno(stage: Path | None = None) -> Path | None:
    """The deno to use: a staged yt-dlp's own (update-ytdlp), else the one the `deno` extra put
    beside this Python (the venv's bin), else one on PATH."""
    name = "deno" + (sysconfig.get_config_var("EXE") or "")
    candidates: list[Path] = []
    if stage is not None:
        candidates.append(stage / "bin" / name)  # pip install --target puts scripts here
    candidates.append(Path(sysconfig.get_path("scripts")) / name)
    if found := shutil.which(name):
        candidates.append(Path(found))
    return next((path for path in candidates if path.is_file()), None)


def parse_version(output: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(output)
    if match is None:
        return None
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


async def probe(path: Path | None) -> JsRuntime:
    """Ask `path --version` (with a deadline); a deno that does not answer, or is older than
    yt-dlp supports, counts as none."""
    if path is None:
        return JsRuntime(None)
    try:
        proc = await asyncio.create_subprocess_exec(
            str(path),
            "--version",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        log.warning("js_runtime_unusable path=%s error=%r", path, exc)
        return JsRuntime(None)
    try:
        async with asyncio.timeout(VERSION_TIMEOUT_S):
            out, _ = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        log.warning("js_runtime_unusable path=%s error=timeout", path)
        return JsRuntime(None)
    version = parse_version(out.decode(errors="replace"))
    if proc.returncode != 0 or version is None or version < MIN_DENO:
        log.warning("js_runtime_unusable path=%s version=%s", path, version)
        return JsRuntime(None)
    return JsRuntime(path, ".".join(str(v) for v in version))


def package_version(name: str) -> str | None:
    """An installed distribution's version, as the first entry of sys.path that has it says
    (a staged yt-dlp before the venv's)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


JS_RUNTIME_ADVICE = (
    "install yt-dlp with its deno extra (make install; pip install 'yt-dlp[default,deno]') "
    "or put deno >= 2.3 on PATH: YouTube formats go missing without it"
)


def runtime_line(runtime: JsRuntime) -> str:
    """The start-up line: `ytdlp version=... js_runtime=deno-2.9.8 ejs=0.8.0`."""
    ytdlp = package_version("yt-dlp") or "missing"
    ejs = package_version("yt-dlp-ejs") or "none"
    return f"ytdlp version={ytdlp} js_runtime={runtime.label} ejs={ejs}"
