"""arq adapter for the queue spike: `worker ID SLOTS` runs a worker, `front` reads commands.

arq has no heartbeat: a dead worker's job is taken again only when its in-progress key, set to
the job timeout + 10 s, expires; a download queue needs a timeout above its longest job.
"""
# mypy: ignore-errors
# (type-checked in its own venv: tgfetch's venv has none of the spike's queue libraries)

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import Job
from arq.worker import Worker, func
from common import body, front_loop

SETTINGS = RedisSettings(host="127.0.0.1", port=int(os.environ["SPIKE_PORT"]))
JOB_TIMEOUT = int(os.environ.get("SPIKE_JOB_TIMEOUT", "60"))


async def job(ctx: dict[str, Any], key: str, secs: float) -> str:
    return await body(key, secs, ctx["wid"])


async def run_worker(wid: str, slots: int) -> None:
    worker = Worker(
        functions=[func(job, name="job", max_tries=3)],
        redis_settings=SETTINGS,
        max_jobs=slots,
        allow_abort_jobs=True,
        job_timeout=JOB_TIMEOUT,
        poll_delay=0.5,
        handle_signals=False,
        ctx={"wid": wid},
    )
    await worker.main()


async def run_front() -> None:
    pool = await create_pool(SETTINGS)

    async def enqueue(key: str, secs: float) -> None:
        await pool.enqueue_job("job", key, secs, _job_id=key)

    async def abort(key: str) -> None:
        await Job(key, pool).abort(timeout=10)

    await front_loop(enqueue, abort)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        asyncio.run(run_worker(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(run_front())
