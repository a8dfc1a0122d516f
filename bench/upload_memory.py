"""Peak memory of four concurrent 45 MB uploads, by the way the file reaches the Bot API.

Run from the project root: `.venv/bin/python -m bench.upload_memory` (`make bench-upload`).
Each way runs three times, each time in a fresh process (so one way's leftovers cannot raise
the next one's figures), against the fake Bot API in that same process (it hashes uploads
chunk by chunk, so it adds little). A run reports its resident set just before the uploads
(the idle figure), its peak (VmHWM, reset through /proc/self/clear_refs first) and whether
every file arrived intact. The ways:

- `deliverer`: the bot's own Bot API deliverer (`bot.upload.botapi.BotApiUploader`), as it is in
  this checkout (since issue 13: PTB's send methods with a streamed handle, over RetryingRequest);
- `ptb-stream`: PTB's `bot.send_document(InputFile(handle, read_file_handle=False))`;
- `ptb-default`: PTB's `bot.send_document(handle)`, which reads the whole file first.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import Bot, InputFile
from telegram.request import HTTPXRequest

from bot.model.media import MediaInfo
from bot.telegram_io.request import RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.upload.botapi import BotApiUploader
from bot.upload.types import Delivery
from tests.fakes.bot_api import FakeBotApi

MB = 1024 * 1024
FILES = 4
SIZE = 45 * MB
CHAT = 1001
RUNS = 3
GOAL_MB = 10.0  # growth over idle allowed for four uploads at once

Files = list[tuple[Path, str]]
Way = Callable[[FakeBotApi, Files], Awaitable[None]]


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


def ptb_bot(api: FakeBotApi) -> Bot:
    request = HTTPXRequest(connection_pool_size=8, media_write_timeout=120, read_timeout=120)
    return Bot(api.token, base_url=f"{api.url}/bot", request=request)


async def deliverer(api: FakeBotApi, files: Files) -> None:
    request = RetryingRequest(
        policy=RetryPolicy(), connection_pool_size=8, media_write_timeout=120, read_timeout=120
    )
    async with Bot(api.token, base_url=f"{api.url}/bot", request=request) as bot:
        uploader = BotApiUploader(bot)
        deliveries = [
            Delivery(CHAT, path, path.name, "bench", SIZE, MediaInfo()) for path, _ in files
        ]
        await asyncio.gather(*(uploader.send(d, lambda _c, _t: None) for d in deliveries))


async def ptb_stream(api: FakeBotApi, files: Files) -> None:
    async with ptb_bot(api) as bot:

        async def send(path: Path) -> None:
            with path.open("rb") as handle:
                document = InputFile(handle, filename=path.name, read_file_handle=False)
                await bot.send_document(CHAT, document, caption="bench")

        await asyncio.gather(*(send(path) for path, _ in files))


async def ptb_default(api: FakeBotApi, files: Files) -> None:
    async with ptb_bot(api) as bot:

        async def send(path: Path) -> None:
            with path.open("rb") as document:  # PTB reads it whole: what we measure
                await bot.send_document(CHAT, document, caption="bench")

        await asyncio.gather(*(send(path) for path, _ in files))


WAYS: dict[str, tuple[str, Way]] = {
    "deliverer": ("the bot's deliverer", deliverer),
    "ptb-stream": ("PTB, read_file_handle=False", ptb_stream),
    "ptb-default": ("PTB, default (reads the file)", ptb_default),
}


async def one_run(way: str, folder: Path) -> dict[str, object]:
    """One way, once, in this process: the figures as a dict."""
    files = [(folder / f"upload-{i}.bin", sha) for i, sha in enumerate(sys.argv[3:])]
    async with FakeBotApi() as api:
        await ptb_default(api, [])  # imports and first-use costs are paid before measuring
        reset_peak()
        idle = status_kb("VmRSS")
        started = time.monotonic()
        await WAYS[way][1](api, files)
        elapsed = time.monotonic() - started
        peak = status_kb("VmHWM")
        sent = {c.files["document"].sha256 for c in api.calls if "document" in c.files}
    return {
        "idle_mb": idle / 1024,
        "peak_mb": peak / 1024,
        "growth_mb": (peak - idle) / 1024,
        "seconds": elapsed,
        "intact": sent == {sha for _, sha in files},
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        result = asyncio.run(one_run(sys.argv[2], Path(os.environ["UPLOAD_BENCH_DIR"])))
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="tgfetch-upload-") as folder:
        files = make_files(Path(folder))
        env = os.environ | {"UPLOAD_BENCH_DIR": folder}
        shas = [sha for _, sha in files]
        print(
            f"{FILES} concurrent uploads of {SIZE // MB} MB each, fake Bot API in-process, "
            f"{RUNS} runs of each way in a fresh process; goal: growth < {GOAL_MB:g} MB"
        )
        failed = False
        for way, (label, _) in WAYS.items():
            runs = []
            for _ in range(RUNS):
                out = subprocess.run(
                    [sys.executable, "-m", "bench.upload_memory", "--one", way, *shas],
                    check=True,
                    capture_output=True,
                    text=True,
                    env=env,
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            growth = [float(str(r["growth_mb"])) for r in runs]
            idle = statistics.median(float(str(r["idle_mb"])) for r in runs)
            seconds = statistics.median(float(str(r["seconds"])) for r in runs)
            intact = all(r["intact"] for r in runs)
            print(
                f"{label:<31} idle {idle:5.1f} MB  growth min/median/max "
                f"{min(growth):6.1f} / {statistics.median(growth):6.1f} / {max(growth):6.1f} MB"
                f"  time {seconds:4.1f} s  intact={intact}"
            )
            failed |= not intact
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
