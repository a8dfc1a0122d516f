"""Is the daemon's early RSS growth warm-up or a leak? (issue 22; docs/BENCHMARKS.md)

Sends batches of 200 links to 64 KB files (four users at a time, as `make bench`'s small-link
figure does) to one daemon, and after each batch, once idle, reads its RSS and (with tracing)
has it write a tracemalloc snapshot. Growth that stops after the first batch or two is
warm-up; growth that goes on batch after batch, in the same places, is a leak. Prints the
RSS per batch, Python's traced memory per batch, and the allocation sites that grew most
from the first snapshot to the last.

`python -m bench.memtrace [--batches 5] [--no-trace]`: --no-trace runs the daemon as it is
(RSS without tracemalloc's own weight).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import tempfile
import tracemalloc
from pathlib import Path

from bench.fastpath import SMALL_LINKS, SMALL_SIZE, _four_at_a_time, bot_delivery
from bench.measures import idle_rss
from bench.report import RESULTS, machine, now, progress, say, write
from bench.stack import Stack, wait_log_count
from tests.e2e.daemon import MAIN, Daemon
from tests.fakes.media_server import MediaServer

TRACED_MAIN = Path(__file__).resolve().parent / "traced_main.py"
TOP = 15
TIMEOUT = 120.0
STARTUP_TIMEOUT = 300.0


async def run(batches: int, trace: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="tgfetch-memtrace-") as scratch:
        root = Path(scratch)
        traces = root / "traces"
        traces.mkdir()
        async with Stack(root) as stack:
            settings = {"DOWNLOAD_WORKERS": "6", "TRACE_DIR": str(traces)}
            main = TRACED_MAIN if trace else MAIN
            daemon = await stack.start_daemon(root / "data", settings, main=main, wait=False)
            # tracemalloc makes every import slow: start-up takes 20 s of CPU, not 0.5.
            await daemon.wait_log("started version=", STARTUP_TIMEOUT)
            rss = [round(await idle_rss(daemon), 2)]
            traced: list[float] = []
            if trace:
                traced.append(await _snapshot(daemon, traces, 1))
            ended = 0
            for batch in range(1, batches + 1):
                progress(f"batch {batch} of {batches}…")

                async def link(lane: int, n: int, batch: int = batch) -> None:
                    name = f"m{batch}-{n}.bin"
                    url = stack.media.url(f"/file/{name}?size={SMALL_SIZE}")
                    expected = MediaServer.expected_sha256(name, SMALL_SIZE)
                    await bot_delivery(stack, 97_001 + lane, url, expected)

                try:
                    await _four_at_a_time(link)
                finally:  # what the daemon said, for a link that never arrived
                    await asyncio.to_thread(
                        (RESULTS / "memtrace-daemon.log").write_text, daemon.output
                    )
                ended += SMALL_LINKS
                await wait_log_count(daemon, "job_end", ended, TIMEOUT)
                rss.append(round(await idle_rss(daemon), 2))
                if trace:
                    traced.append(await _snapshot(daemon, traces, batch + 1))
            await daemon.stop()
            grew = top_growth(traces, batches + 1) if trace else []
    return {
        "measured_at": now(),
        "machine": machine(),
        "traced": trace,
        "links_per_batch": SMALL_LINKS,
        "daemon_rss_mb_after_each_batch": rss,
        "python_traced_mb_after_each_batch": traced,
        "growth_second_to_last_snapshot": top_growth(traces, batches + 1, 2) if trace else [],
        "growth_first_to_last_snapshot": grew,
    }


async def _snapshot(daemon: Daemon, traces: Path, n: int) -> float:
    daemon.signal(signal.SIGUSR2)
    line = await daemon.wait_log(f"tracemalloc_snapshot n={n} ", TIMEOUT)
    return float(line.rsplit("traced_mb=", 1)[1])


def top_growth(traces: Path, last: int, first: int = 1) -> list[str]:
    """The allocation sites (12 frames, shown by their innermost line in this project or the
    last one) that grew most between two snapshots."""
    if not (traces / f"snapshot-{last}.pickle").exists():
        return []
    before = tracemalloc.Snapshot.load(str(traces / f"snapshot-{first}.pickle"))
    after = tracemalloc.Snapshot.load(str(traces / f"snapshot-{last}.pickle"))
    stats = after.compare_to(before, "traceback")
    shown = []
    for stat in stats[:TOP]:
        frames = [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in stat.traceback]
        ours = [
            f for f, raw in zip(frames, stat.traceback, strict=True) if "/bot/" in raw.filename
        ]
        where = " < ".join((ours or frames)[-3:])
        shown.append(f"{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks: {where}")
    return shown


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--no-trace", action="store_true")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    result = asyncio.run(run(args.batches, not args.no_trace))
    stem = "memtrace" if not args.no_trace else "memtrace-untraced"
    write(stem, result, json.dumps(result, indent=2))
    say(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
