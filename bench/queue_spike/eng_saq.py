"""SAQ adapter for the queue spike: `worker ID SLOTS` runs a worker, `front` reads commands.

Runs in a venv holding saq (see setup_venvs.sh), not in tgfetch's.
"""
# mypy: ignore-errors
# (type-checked in its own venv: tgfetch's venv has none of the spike's queue libraries)

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from common import body, front_loop
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from saq import Queue, Worker
from saq.queue.redis import RedisQueue

URL = os.environ["SPIKE_URL"]
HEARTBEAT = int(os.environ.get("SPIKE_HEARTBEAT", "10"))
SWEEP = int(os.environ.get("SPIKE_SWEEP", "5"))


async def job(ctx: dict[str, Any], *, jk: str, secs: float) -> str:
    # `key` is a Job field: a kwarg of that name would set the job's key, not reach us.
    return await body(jk, secs, ctx["worker"].id, beat=ctx["job"].update)


def worker_queue() -> Queue:
    """SPIKE_WORKER_RETRY=1: every command waits out an outage with a capped backoff."""
    if os.environ.get("SPIKE_WORKER_RETRY") != "1":
        return Queue.from_url(URL, name="spike")
    client = Redis.from_url(
        URL,
        retry=Retry(ExponentialWithJitterBackoff(base=0.5, cap=3), retries=-1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
    )
    return RedisQueue(client, name="spike")


async def run_worker(wid: str, slots: int) -> None:
    queue = worker_queue()
    await queue.connect()
    worker = Worker(
        queue,
        functions=[("job", job)],
        id=wid,
        concurrency=slots,
        timers={"schedule": 1, "worker_info": 10, "sweep": SWEEP, "abort": 1},
    )
    await worker.start()


async def run_front() -> None:
    queue = Queue.from_url(URL, name="spike")
    await queue.connect()

    async def enqueue(key: str, secs: float) -> None:
        await queue.enqueue(
            "job", key=key, jk=key, secs=secs, timeout=0, heartbeat=HEARTBEAT, retries=3, ttl=3600
        )

    async def abort(key: str) -> None:
        saq_job = await queue.job(key)
        if saq_job is not None:
            await queue.abort(saq_job, "cancelled")

    await front_loop(enqueue, abort)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        asyncio.run(run_worker(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(run_front())
