"""The doctor's checks of this machine: DATA_DIR, the database, ffmpeg, yt-dlp and its
JavaScript runtime, the EJS scripts, the cookies files, /pdf's browser."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
import re
import shutil
import sqlite3
import tempfile

from bot.config.settings import Settings
from bot.config.ytdlp_stage import active_stage, version_key
from bot.doctor.report import Line, Status
from bot.download.cookies import CookieStore, read_cookie_file
from bot.download.jsruntime import find_deno, package_version, probe
from bot.pages.browser import find_browser
from bot.store.migrations import MIGRATIONS
from bot.upgrade import pip

CHILD_TIMEOUT_S = 20.0
LOW_DISK_MB = 1024
EXPIRING = dt.timedelta(days=7)


async def child(*args: str, stdin: bytes | None = None) -> tuple[int, str]:
    """Run a program with a deadline: (exit code, its output); 127 when it is not there."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except OSError:
        return 127, ""
    try:
        async with asyncio.timeout(CHILD_TIMEOUT_S):
            out, _ = await proc.communicate(stdin)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 124, f"no answer within {CHILD_TIMEOUT_S:.0f} s"
    return proc.returncode or 0, out.decode(errors="replace")


async def data_dir(settings: Settings) -> list[Line]:
    path = settings.data_dir.resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return [Line(Status.FAIL, "data_dir", f"{existing} is not a folder")]
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return [Line(Status.FAIL, "data_dir", f"{existing} is not writable: {exc.strerror}")]
    free = shutil.disk_usage(existing).free // (1024 * 1024)
    note = "" if existing == path else " (created at the first start)"
    status = Status.WARN if free < LOW_DISK_MB else Status.OK
    return [Line(status, "data_dir", f"{path} writable free_mb={free}{note}")]


async def database(settings: Settings) -> list[Line]:
    path = settings.data_dir / "tgfetch.sqlite3"
    if not path.exists():
        return [Line(Status.OK, "database", f"{path} not created yet (the first start does)")]

    def inspect() -> tuple[int, str]:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            verdict = str(conn.execute("PRAGMA quick_check").fetchone()[0])
        return version, verdict

    try:
        version, verdict = await asyncio.to_thread(inspect)
    except sqlite3.Error as exc:
        return [Line(Status.FAIL, "database", f"{path} cannot be read: {exc}")]
    if verdict != "ok":
        return [Line(Status.FAIL, "database", f"{path} is damaged: {verdict[:200]}")]
    if version > len(MIGRATIONS):
        return [Line(Status.FAIL, "database", f"schema {version} is newer than this tgfetch")]
    pending = len(MIGRATIONS) - version
    more = f" ({pending} migration(s) at the next start)" if pending else ""
    return [Line(Status.OK, "database", f"{path} schema={version}{more}")]


async def ffmpeg(_settings: Settings) -> list[Line]:
    lines = []
    for tool in ("ffmpeg", "ffprobe"):
        code, out = await child(tool, "-version")
        if code != 0:
            lines.append(Line(Status.FAIL, tool, "not found: apt-get install ffmpeg"))
            continue
        found = re.search(rf"{tool} version (\S+)", out)
        lines.append(Line(Status.OK, tool, f"version={found[1] if found else '?'}"))
    return lines


async def pdf_browser(settings: Settings) -> list[Line]:
    """/pdf's Chromium and Playwright, which drives it (PDF_PAGES=off: not needed)."""
    if not settings.pdf_pages:
        return [Line(Status.OK, "pdf_browser", "PDF_PAGES=off")]
    advice = "apt-get install chromium-headless-shell (make run), or PDF_PAGES=off"
    browser = find_browser(settings.pdf_browser)
    code, out = await child(str(browser), "--version") if browser else (127, "")
    if code != 0:
        return [Line(Status.FAIL, "pdf_browser", f"no Chromium that runs: {advice}")]
    driver = package_version("playwright")
    if driver is None:
        return [Line(Status.FAIL, "pdf_browser", "playwright is not installed: make install")]
    version = out.strip().splitlines()[0] if out.strip() else "?"
    return [Line(Status.OK, "pdf_browser", f"{version} path={browser} playwright={driver}")]


async def ytdlp(settings: Settings) -> list[Line]:
    version = package_version("yt-dlp") or "missing"
    stage = active_stage(settings.data_dir)
    where = f"staged in {stage}" if stage is not None else "installed with the code"
    lines = [Line(Status.OK, "ytdlp", f"version={version} {where}")]
    try:
        newest = await asyncio.to_thread(pip.newest_version)
    except pip.PipError as exc:
        lines.append(Line(Status.WARN, "ytdlp_index", f"the package index did not say: {exc}"))
        return lines
    if version_key(newest) > version_key(version):
        advice = "python main.py update-ytdlp (or /admin → yt-dlp)"
        lines.append(Line(Status.WARN, "ytdlp_index", f"newer={newest} on the index: {advice}"))
    else:
        lines.append(Line(Status.OK, "ytdlp_index", f"newest={newest}"))
    return lines


async def js_runtime(settings: Settings) -> list[Line]:
    runtime = await probe(find_deno(active_stage(settings.data_dir)))
    if runtime.path is None:
        advice = "make install (the deno extra) or deno >= 2.3 on PATH"
        return [Line(Status.FAIL, "js_runtime", f"none: YouTube formats go missing; {advice}")]
    # A trivial script, the way yt-dlp runs its solver: no permissions, no network.
    script = b"console.log(6 * 7)"
    code, out = await child(
        str(runtime.path), "run", "--no-prompt", "--no-remote", "-", stdin=script
    )
    if code != 0 or out.strip() != "42":
        return [
            Line(Status.FAIL, "js_runtime", f"{runtime.path} could not run a script: {out[:200]}")
        ]
    return [Line(Status.OK, "js_runtime", f"{runtime.label} path={runtime.path} ran a script")]


async def ejs(_settings: Settings) -> list[Line]:
    version = package_version("yt-dlp-ejs")
    if version is None:
        return [Line(Status.FAIL, "ejs", "yt-dlp-ejs missing: install yt-dlp[default]")]
    wanted = next(
        (
            req.split("==", 1)[1].split(";", 1)[0].strip()
            for req in importlib.metadata.requires("yt-dlp") or ()
            if req.startswith("yt-dlp-ejs==")
        ),
        version,
    )
    if wanted != version:
        return [Line(Status.WARN, "ejs", f"version={version}; this yt-dlp wants {wanted}")]
    return [Line(Status.OK, "ejs", f"version={version}")]


async def cookies(settings: Settings) -> list[Line]:
    store = CookieStore(settings.cookies_folder, settings.ytdlp_cookies)
    found = await asyncio.to_thread(store.files)
    if settings.ytdlp_cookies is not None:
        fallback = settings.ytdlp_cookies
        found.append((fallback, await asyncio.to_thread(read_cookie_file, fallback)))
    if not found:
        return [Line(Status.OK, "cookies", f"none in {settings.cookies_folder}")]
    now = dt.datetime.now(dt.UTC)
    lines = []
    for path, info in found:
        if info is None:
            lines.append(Line(Status.FAIL, "cookies", f"{path} is not a Netscape cookies file"))
            continue
        expires = info.expires.date().isoformat() if info.expires else "session"
        detail = f"{path.name} sites={','.join(info.sites[:5])} cookies={info.cookies}"
        status = Status.OK
        if info.expires is not None and info.expires < now + EXPIRING:
            status = Status.WARN
            expires += " (expired)" if info.expires < now else " (soon)"
        lines.append(Line(status, "cookies", f"{detail} expires={expires}"))
    return lines
