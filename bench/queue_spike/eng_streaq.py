"""streaq adapter for the queue spike: `worker ID SLOTS` runs a worker, `front` reads commands."""
# mypy: ignore-errors
# (type-checked in its own venv: tgfetch's venv has none of the spike's queue libraries)

from __future__ import annotations

import asyncio
import os
import sys

from common import body, front_loop
from streaq import Worker

WID = sys.argv[2] if sys.argv[1] == "worker" else "front"
SLOTS = int(sys.argv[3]) if sys.argv[1] == "worker" else 1
# prefetch: streaq holds (prefetch or concurrency) + concurrency messages, so 0 means "the
# default" and 1 is the least it holds beyond its running jobs. streaq's task decorator needs
# the worker at import time.
WORKER = Worker(
    redis_url=os.environ["SPIKE_URL"],
    concurrency=SLOTS,
    queue_name="spike",
    prefetch=1,
    idle_timeout=int(os.environ.get("SPIKE_IDLE_S", "20")),
    handle_signals=False,
    id=WID,
)


@WORKER.task()
async def job(key: str, secs: float) -> str:
    return await body(key, secs, WID)


async def run_front() -> None:
    ids: dict[str, str] = {}
    async with WORKER:

        async def enqueue(key: str, secs: float) -> None:
            task = await job.enqueue(key, secs)
            ids[key] = task.id

        async def abort(key: str) -> None:
            await WORKER.abort_by_id(ids[key], timeout=10)

        await front_loop(enqueue, abort)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        asyncio.run(WORKER.run_async())
    else:
        asyncio.run(run_front())
