"""Past one machine, measured (`make bench-scale`; issue 17, docs/SCALING.md).

1. Scaling: 40 links from 10 users through the front to 1, 2 and 4 workers (each with
   DOWNLOAD_WORKERS slots), every worker process limited by the media server to the same
   bandwidth (bench/throttle.py): the time from the first link to the 40th file in the chats,
   and the speed-up over one worker.
2. Hand-over: `kill -9` of the worker holding a slow job, with the default timers, to the job
   running on the other worker (and the same after a SIGTERM).
3. Failures (bench/failures.py): a worker cut off from Redis mid-upload, Redis restarted, the
   front killed and started again.

Everything on 127.0.0.1: a real redis-server, the fake Bot API, real `main.py` processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.failures import failure_runs
from bench.throttle import ThrottledMedia
from tests.e2e.cluster import Cluster
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer
from tests.fakes.records import UPLOAD_METHODS
from tests.redis_server import RedisServer

RESULTS = Path(__file__).resolve().parent / "results"
LINKS = 40
USERS = 10
MB = 1_000_000


def delivered(api: FakeBotApi) -> int:
    return sum(1 for c in api.calls if c.method in UPLOAD_METHODS and c.ok)


async def scale_run(workers: int, *, size: int, rate: float, slots: int) -> dict[str, Any]:
    """One run: a fresh Redis, front and `workers` workers; 40 links; seconds to the last file."""
    with tempfile.TemporaryDirectory(prefix="tgfetch-scale-") as folder:
        root = Path(folder)
        media = ThrottledMedia(rate)
        await media.start()
        try:
            async with RedisServer(root / "redis") as redis, FakeBotApi() as api:
                cluster = Cluster(api, redis, root)
                try:
                    front = await cluster.start_front(
                        MAX_JOBS_PER_USER=str(LINKS // USERS),
                        MAX_QUEUED_JOBS=str(LINKS),
                        RATE_LIMIT_PER_MINUTE="0",
                    )
                    started = await cluster.start_workers(workers, DOWNLOAD_WORKERS=str(slots))
                    media.pids = {w.pid for w in started}
                    began = time.monotonic()
                    for n in range(LINKS):
                        user = 9000 + n % USERS
                        api.push_message(user, media.url(f"/file/s{n}.bin?size={size}"))
                    # A job that failed would leave this waiting for the 40th file: stop there.
                    await api.wait_for(
                        lambda _c: delivered(api) >= LINKS or "state=failed" in front.output,
                        timeout=600,
                    )
                    seconds = time.monotonic() - began
                    assert "state=failed" not in front.output, front.output[-3000:]
                    await front.wait_lines("job_reported", LINKS, timeout=60)
                    wrong = [
                        c
                        for c in api.calls
                        if c.method == "sendDocument"
                        and c.files
                        and c.files["document"].sha256
                        != MediaServer.expected_sha256(str(c.files["document"].filename), size)
                    ]
                    # A worker logs job_end after its report went out: the front may have
                    # recorded the last one a moment before its worker's line.
                    for _ in range(100):
                        per_worker = [w.output.count("job_end id=") for w in started]
                        if sum(per_worker) >= LINKS:
                            break
                        await asyncio.sleep(0.1)
                finally:
                    await cluster.stop()
        finally:
            await media.stop()
    assert not wrong, f"{len(wrong)} files arrived damaged"
    assert delivered(api) == LINKS, f"{delivered(api)} files for {LINKS} links"
    return {
        "workers": workers,
        "seconds": round(seconds, 2),
        "jobs_per_worker": per_worker,
        "front_requests_to_media": media.unknown,
        "mb_per_worker": [round(b / MB, 1) for b in media.bytes_by_pid.values()],
    }


async def handover_run(*, graceful: bool) -> dict[str, Any]:
    """Seconds from the holder's death (or SIGTERM) to the job's start on the other worker,
    with the default QUEUE_HEARTBEAT_SECONDS and QUEUE_SWEEP_SECONDS."""
    with tempfile.TemporaryDirectory(prefix="tgfetch-handover-") as folder:
        root = Path(folder)
        async with (
            RedisServer(root / "redis") as redis,
            FakeBotApi() as api,
            MediaServer() as media,
        ):
            cluster = Cluster(api, redis, root)
            try:
                await cluster.start_front()
                await cluster.start_workers(2, DOWNLOAD_WORKERS="1")
                api.push_message(9500, media.url("/file/slow.bin?size=20000000&rate=200000"))
                holder = await cluster.wait_taken(1)
                await media.wait_streams(1, timeout=30)
                began = time.monotonic()
                if graceful:
                    holder.signal()
                else:
                    holder.kill()
                other = await cluster.wait_taken(1, attempt=2, timeout=180)
                seconds = time.monotonic() - began
                assert other is not holder
            finally:
                await cluster.stop()
    return {"graceful": graceful, "seconds": round(seconds, 2)}


async def scaling_table(slots: int, *, size: int, rate: float, repeat: int) -> dict[str, Any]:
    runs: dict[int, list[dict[str, Any]]] = {}
    for _ in range(repeat):
        for workers in (1, 2, 4):
            run = await scale_run(workers, size=size, rate=rate, slots=slots)
            print(json.dumps({"slots": slots, **run}), flush=True)
            runs.setdefault(workers, []).append(run)
    one = statistics.median(r["seconds"] for r in runs[1])
    rows = {
        workers: {
            "median_s": statistics.median(r["seconds"] for r in done),
            "runs_s": [r["seconds"] for r in done],
            "speedup": round(one / statistics.median(r["seconds"] for r in done), 2),
            "jobs_per_worker": [r["jobs_per_worker"] for r in done],
        }
        for workers, done in runs.items()
    }
    return {"slots_per_worker": slots, "rows": rows, "runs": runs}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    size, rate = int(args.size_mb * MB), args.rate_mb * MB
    tables = [
        await scaling_table(int(slots), size=size, rate=rate, repeat=args.repeat)
        for slots in args.slots.split(",")
    ]
    handovers = []
    for _ in range(args.handovers):
        for graceful in (False, True):
            run = await handover_run(graceful=graceful)
            print(json.dumps(run), flush=True)
            handovers.append(run)
    failures = await failure_runs(args.failures)
    return {
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cpus",
        "links": LINKS,
        "file_mb": args.size_mb,
        "rate_mb_per_s_per_worker": args.rate_mb,
        "scaling": tables,
        "handover": handovers,
        "failures": failures,
    }


def report(result: dict[str, Any]) -> str:
    lines = []
    for table in result["scaling"]:
        lines += [
            f"40 links of {result['file_mb']} MB, each worker process at "
            f"{result['rate_mb_per_s_per_worker']} MB/s, DOWNLOAD_WORKERS="
            f"{table['slots_per_worker']}:",
            "",
            "| workers | total time (median) | runs | speed-up | jobs per worker |",
            "|---:|---:|---|---:|---|",
        ]
        for workers, row in table["rows"].items():
            runs = ", ".join(f"{s:.1f}" for s in row["runs_s"])
            spread = "; ".join("/".join(map(str, j)) for j in row["jobs_per_worker"])
            lines.append(
                f"| {workers} | {row['median_s']:.1f} s | {runs} | {row['speedup']:.2f}× "
                f"| {spread} |"
            )
        lines.append("")
    kills = [h["seconds"] for h in result["handover"] if not h["graceful"]]
    stops = [h["seconds"] for h in result["handover"] if h["graceful"]]
    if kills:
        lines.append(f"kill -9 -> job running elsewhere: {', '.join(f'{s:.1f}' for s in kills)} s")
    if stops:
        lines.append(f"SIGTERM -> job running elsewhere: {', '.join(f'{s:.2f}' for s in stops)} s")
    for run in result.get("failures", []):
        figures = ", ".join(f"{k} {v} s" for k, v in run.items() if k != "case")
        lines.append(f"{run['case']}: {figures}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=4.0)
    parser.add_argument("--rate-mb", type=float, default=2.0, help="per worker process, MB/s")
    parser.add_argument(
        "--slots", default="1,4", help="DOWNLOAD_WORKERS of each worker; a table for each"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--handovers", type=int, default=2)
    parser.add_argument("--failures", type=int, default=2, help="runs of each failure case")
    result = asyncio.run(main(parser.parse_args()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scaling.json").write_text(json.dumps(result, indent=2))
    text = report(result)
    (RESULTS / "scaling.md").write_text(text + "\n")
    print(text)
