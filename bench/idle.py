"""The daemon's resident memory idle, and after links whose yt-dlp extraction fails.

Run from the project root: `.venv/bin/python -m bench.idle` (about a minute). Each run starts a
fresh daemon with `make bench`'s settings against the fake Bot API and the media server,
measures its idle RSS as `make bench` does (`idle_rss_mb`), sends `--failed` links to pages
without media (each a yt-dlp extraction that fails), waits for every job to end and measures
the idle RSS again. `--main other/main.py` measures another checkout's daemon, `--env NAME=VALUE`
adds a setting (`--env HEALTH_PORT=0`: with the health server).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from bench.measures import idle_rss
from bench.report import say
from bench.stack import Stack, wait_log_count
from tests.e2e.daemon import MAIN

SETTINGS = {"DOWNLOAD_WORKERS": "6"}  # make bench's


async def one_run(main: Path, failed: int, env: dict[str, str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="tgfetch-idle-") as scratch:
        root = Path(scratch)
        async with Stack(root) as stack:
            daemon = await stack.start_daemon(root / "data", {**SETTINGS, **env}, main=main)
            idle = await idle_rss(daemon)
            for n in range(failed):
                stack.api.push_message(20_000 + n, stack.media.url(f"/page/empty?n={n}"))
            await wait_log_count(daemon, "job_end id=", failed, 300)
            after = await idle_rss(daemon)
            await daemon.stop()
            return idle, after


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--main", type=Path, default=MAIN)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--failed", type=int, default=40)
    parser.add_argument("--env", action="append", default=[])
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    runs = [await one_run(args.main, args.failed, env) for _ in range(args.runs)]
    idle = [round(r[0], 1) for r in runs]
    after = [round(r[1], 1) for r in runs]
    say(f"{args.main}: idle_rss_mb {idle} (median {statistics.median(idle)})")
    say(f"after {args.failed} failed extractions: {after} (median {statistics.median(after)})")


if __name__ == "__main__":
    asyncio.run(main())
