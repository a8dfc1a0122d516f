"""taskiq + taskiq-redis RedisStreamBroker adapter for the queue spike.

`worker ID SLOTS` runs a worker, `front` reads commands. taskiq cannot cancel a running task,
so the front's abort only reports that.
"""
# mypy: ignore-errors
# (type-checked in its own venv: tgfetch's venv has none of the spike's queue libraries)

from __future__ import annotations

import asyncio
import os
import sys

from common import body, front_loop
from taskiq.api import run_receiver_task
from taskiq_redis import RedisStreamBroker

WID = sys.argv[2] if sys.argv[1] == "worker" else "front"
# xread_count=1: XREADGROUP otherwise moves up to 100 entries into this consumer's pending list
# at once, whatever max_async_tasks says. idle_timeout is XAUTOCLAIM's minimum idle time:
# nothing renews it while a job runs, so it must exceed the longest job. taskiq's task
# decorator needs the broker at import time.
BROKER = RedisStreamBroker(
    os.environ["SPIKE_URL"],
    queue_name="spike",
    consumer_name=WID,
    xread_count=1,
    idle_timeout=int(os.environ.get("SPIKE_IDLE_MS", "30000")),
    unacknowledged_lock_timeout=5,
)


@BROKER.task(task_name="job")
async def job(key: str, secs: float) -> str:
    return await body(key, secs, WID)


async def run_worker(slots: int) -> None:
    await BROKER.startup()
    await run_receiver_task(BROKER, max_async_tasks=slots, max_prefetch=0)


async def run_front() -> None:
    await BROKER.startup()

    async def enqueue(key: str, secs: float) -> None:
        await job.kicker().with_task_id(key).kiq(key, secs)

    async def abort(key: str) -> None:
        raise NotImplementedError(f"taskiq has no way to cancel running task {key}")

    await front_loop(enqueue, abort)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        asyncio.run(run_worker(int(sys.argv[3])))
    else:
        asyncio.run(run_front())
