"""What a job of many files costs (issue 16): a 130 MB video sent in parts over the public Bot
API, and a page of 12 videos sent whole as albums.

Run from the project root: `.venv/bin/python -m bench.parts` (`make bench-parts`). For each case,
RUNS times with a fresh daemon and DATA_DIR (the cache would answer otherwise): the delivery time
(link pushed, or "all" pressed, → the last file answered by the fake Bot API), the daemon's peak
RSS (its process tree, sampled every SAMPLE_S, and its own VmHWM), the peak bytes on disk under
DATA_DIR (sampled every SAMPLE_S), and the bytes uploaded to the fake against the bytes the media
server sent. Results: bench/results/parts.{json,md}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from bench.stack import Stack
from tests.e2e.sampler import Sampler
from tests.fakes.bot_api import Call
from tests.fakes.media_files import make_video
from tests.fakes.records import UPLOAD_METHODS

RUNS = 3
SAMPLE_S = 0.05
RESULTS = Path(__file__).parent / "results"
CASE_TIMEOUT = 180.0
USER = 4242
MB = 1024 * 1024
BIG = "big.mp4"
ITEMS = 12


@dataclass
class Run:
    case: str
    seconds: float
    idle_rss_mb: float  # the daemon's tree once started, before the link
    peak_rss_mb: float  # the tree's: the daemon and its ffmpeg/ffprobe children
    peak_daemon_mb: float  # the daemon's own VmHWM
    peak_disk_mb: float
    uploaded_mb: float
    downloaded_mb: float
    files: int


def make_big(path: Path) -> None:
    """About 130 MB of lossless noise in 4.2 s at 960x540, a keyframe every 0.2 s, and a tone."""
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    args += ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "960x540", "-r", "25"]
    args += ["-i", "/dev/urandom", "-f", "lavfi", "-i", "sine=frequency=440:duration=4.2"]
    args += ["-t", "4.2", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "5"]
    args += ["-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)]
    subprocess.run(args, check=True)


def make_items(folder: Path) -> list[str]:
    """Twelve 3 s 640x360 clips (one made, copied: each its own file)."""
    first = make_video(folder / "item01.mp4", 3, 640, 360)
    names = [first.name]
    for n in range(2, ITEMS + 1):
        name = f"item{n:02d}.mp4"
        shutil.copyfile(first, folder / name)
        names.append(name)
    return names


def disk_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total


async def peak_disk(folder: Path, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], await asyncio.to_thread(disk_bytes, folder))
        await asyncio.sleep(SAMPLE_S)


def uploaded(calls: list[Call]) -> int:
    return sum(f.size for c in calls for f in c.files.values())


async def one_run(
    stack: Stack,
    root: Path,
    case: str,
    link: str,
    done: Callable[[Stack], bool],
    settings: dict[str, str],
    *,
    pick_all: bool,
) -> Run:
    data_dir = root / f"data-{case}-{time.monotonic_ns()}"
    mark = stack.api.mark()
    served_before = stack.media.bytes_served()
    daemon = await stack.start_daemon(data_dir, settings)
    peak = [0]
    watcher = asyncio.create_task(peak_disk(data_dir, peak))
    try:
        async with Sampler(daemon.pid, SAMPLE_S) as sampler:
            idle = sampler.take()
            stack.api.push_message(USER, link)
            began = time.monotonic()
            if pick_all:
                question = await stack.api.wait_for_text(USER, "This is a playlist", 60)
                data = next(
                    b["callback_data"]
                    for b in question.buttons
                    if b["callback_data"][-4:] == ":all"
                )
                began = time.monotonic()
                stack.api.push_callback(USER, question.message_id, data)
            await stack.api.wait_for(lambda _: done(stack), CASE_TIMEOUT, after=mark)
            seconds = time.monotonic() - began
            await daemon.wait_log("job_end id=1", timeout=30)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await daemon.stop()
    calls = [c for c in stack.api.calls[mark:] if c.ok and c.chat_id == USER]
    sent = [c for c in calls if c.method in UPLOAD_METHODS or c.method == "sendMediaGroup"]
    files = sum(len(c.params.get("media", [])) or 1 for c in sent)
    result = Run(
        case,
        round(seconds, 2),
        round((idle.rss if idle else 0) / MB, 1),
        round(sampler.peak_rss / MB, 1),
        round(max((x.daemon_hwm for _, x in sampler.samples), default=0) / MB, 1),
        round(peak[0] / MB, 1),
        round(uploaded(sent) / MB, 1),
        round((stack.media.bytes_served() - served_before) / MB, 1),
        files,
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def answered(method: str, count: int) -> Callable[[Stack], bool]:
    """Whether `count` calls of `method` to the user have been answered."""

    def check(stack: Stack) -> bool:
        return sum(1 for c in stack.api.calls_of(method, USER) if c.ok) >= count

    return check


async def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as tmp:
        root = Path(tmp)
        static = root / "static"
        static.mkdir()
        await asyncio.to_thread(make_big, static / BIG)
        names = await asyncio.to_thread(make_items, static)
        runs: list[Run] = []
        async with Stack(root, static) as stack:
            big_link = stack.media.url(f"/static/{BIG}")
            query = "&".join(
                f"video={quote(stack.media.url(f'/static/{n}'), safe='')}" for n in names
            )
            page = stack.media.url(f"/page/list?title=Playlist&{query}")
            for _ in range(RUNS):
                before = len([c for c in stack.api.calls_of("sendVideo", USER) if c.ok])
                runs.append(
                    await one_run(
                        stack,
                        root,
                        "130 MB video in parts",
                        big_link,
                        answered("sendVideo", before + 3),
                        {},
                        pick_all=False,
                    )
                )
                print(runs[-1], flush=True)
            for _ in range(RUNS):
                before = len([c for c in stack.api.calls_of("sendMediaGroup", USER) if c.ok])
                runs.append(
                    await one_run(
                        stack,
                        root,
                        "12-item playlist as albums",
                        page,
                        answered("sendMediaGroup", before + 2),
                        {"CHOICE_TIMEOUT_SECONDS": "60"},
                        pick_all=True,
                    )
                )
                print(runs[-1], flush=True)
        (RESULTS / "parts.json").write_text(json.dumps([asdict(r) for r in runs], indent=2))
        table = report(runs)
        (RESULTS / "parts.md").write_text(table)
        print(table)


def report(runs: list[Run]) -> str:
    lines = [
        "| case | files | delivery s (median of 3) | RSS idle → peak MB (daemon alone)"
        " | peak disk in DATA_DIR MB | uploaded MB | downloaded MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in dict.fromkeys(r.case for r in runs):
        mine = [r for r in runs if r.case == case]
        lines.append(
            f"| {case} | {mine[0].files} | {statistics.median(r.seconds for r in mine):.2f}"
            f" | {mine[0].idle_rss_mb:.1f} → {max(r.peak_rss_mb for r in mine):.1f}"
            f" ({max(r.peak_daemon_mb for r in mine):.1f})"
            f" | {max(r.peak_disk_mb for r in mine):.1f}"
            f" | {mine[0].uploaded_mb:.1f} | {mine[0].downloaded_mb:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    asyncio.run(main())
