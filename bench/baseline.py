"""The yardstick for the bot's overhead: yt-dlp's own command line, then a plain upload (curl)."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

YTDLP = Path(sys.executable).with_name("yt-dlp")
TOOL_TIMEOUT = 300.0
YTDLP_FLAGS = (
    "--ignore-config",
    "--no-cache-dir",
    "--no-progress",
    "--quiet",
    "--no-warnings",
    "--no-part",
    "--no-playlist",
)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Seconds for each half of the yardstick, and the size of what was downloaded."""

    download_s: float
    upload_s: float
    size: int

    @property
    def total_s(self) -> float:
        return self.download_s + self.upload_s


async def _run(*args: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(TOOL_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"{args[0]} exited {process.returncode}: {err.decode()[-500:]}")
    return out


async def ytdlp_startup() -> float:
    """Seconds for `yt-dlp --version`: the interpreter and import cost inside every CLI run."""
    began = time.monotonic()
    await _run(str(YTDLP), "--ignore-config", "--version")
    return time.monotonic() - began


async def download_then_upload(url: str, api_root: str, token: str, chat_id: int) -> Baseline:
    """yt-dlp downloads `url` into a temp folder, then curl POSTs it as a multipart document."""
    if shutil.which("curl") is None:
        raise RuntimeError("curl is needed for the upload half of the baseline")
    with tempfile.TemporaryDirectory(prefix="tgfetch-baseline-") as folder:
        target = Path(folder) / "%(id)s.%(ext)s"
        began = time.monotonic()
        await _run(str(YTDLP), *YTDLP_FLAGS, "-o", str(target), url)
        downloaded = time.monotonic()
        path = await asyncio.to_thread(_only_file, Path(folder))
        code = await _run(
            "curl",
            *("--silent", "--show-error", "--output", "/dev/null"),
            *("--write-out", "%{http_code}"),
            *("-F", f"chat_id={chat_id}", "-F", f"document=@{path}"),
            f"{api_root}/bot{token}/sendDocument",
        )
        uploaded = time.monotonic()
        if code.strip() != b"200":
            raise RuntimeError(f"curl upload answered HTTP {code.decode()}")
        size = (await asyncio.to_thread(path.stat)).st_size
        return Baseline(downloaded - began, uploaded - downloaded, size)


def _only_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if p.is_file()]
    if len(files) != 1:
        raise RuntimeError(f"yt-dlp left {len(files)} files in {folder}")
    return files[0]
