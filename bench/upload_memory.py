"""Peak memory of four concurrent 45 MB uploads: BotApiUploader (streaming) vs PTB's send_document.

Run from the project root: `.venv/bin/python -m bench.upload_memory`. The fake Bot API runs in
this process (it hashes uploads chunk by chunk, so it adds little); the peak resident set is reset
between the two runs through /proc/self/clear_refs, so each number is that run's own peak.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.telegram_io.retry import RetryPolicy
from bot.upload.botapi import BotApiUploader
from bot.upload.types import Delivery, MediaInfo
from tests.fakes.bot_api import FakeBotApi

MB = 1024 * 1024
FILES = 4
SIZE = 45 * MB
CHAT = 1001

Files = list[tuple[Path, str]]
Run = Callable[[FakeBotApi, Files], Awaitable[None]]


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> None:
    """Make VmHWM start again from the current RSS (Linux 4.0+)."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")


def make_files(folder: Path) -> Files:
    made = []
    for index in range(FILES):
        path = folder / f"upload-{index}.bin"
        digest = hashlib.sha256()
        with path.open("wb") as out:
            for _ in range(SIZE // MB):
                chunk = os.urandom(MB)
                digest.update(chunk)
                out.write(chunk)
        made.append((path, digest.hexdigest()))
    return made


async def streaming(api: FakeBotApi, files: Files) -> None:
    async with httpx.AsyncClient() as client:
        uploader = BotApiUploader(api.url, api.token, client, RetryPolicy())
        deliveries = [
            Delivery(CHAT, path, path.name, "bench", SIZE, MediaInfo()) for path, _ in files
        ]
        await asyncio.gather(*(uploader.send(d, lambda _c, _t: None) for d in deliveries))


async def ptb(api: FakeBotApi, files: Files) -> None:
    request = HTTPXRequest(connection_pool_size=8, media_write_timeout=120, read_timeout=120)
    bot = Bot(api.token, base_url=f"{api.url}/bot", request=request)
    async with bot:

        async def send(path: Path) -> None:
            with path.open("rb") as document:  # PTB reads it whole: what we measure
                await bot.send_document(CHAT, document, caption="bench")

        await asyncio.gather(*(send(path) for path, _ in files))


async def measure(name: str, api: FakeBotApi, files: Files, run: Run) -> None:
    reset_peak()
    before = status_kb("VmRSS")
    mark = len(api.calls)
    started = time.monotonic()
    await run(api, files)
    elapsed = time.monotonic() - started
    peak = status_kb("VmHWM")
    sent = {c.files["document"].sha256 for c in api.calls[mark:] if "document" in c.files}
    intact = sent == {sha for _, sha in files}
    print(
        f"{name:<28} rss_before={before / 1024:7.1f} MB  peak={peak / 1024:7.1f} MB  "
        f"growth={(peak - before) / 1024:7.1f} MB  time={elapsed:5.1f} s  intact={intact}"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = make_files(Path(folder))
        async with FakeBotApi() as api:
            print(f"{FILES} concurrent uploads of {SIZE // MB} MB each, fake Bot API in-process")
            await measure("BotApiUploader (streaming)", api, files, streaming)
            await measure("PTB bot.send_document", api, files, ptb)


if __name__ == "__main__":
    asyncio.run(main())
