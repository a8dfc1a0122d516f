"""Celery adapter for the queue spike: `worker ID SLOTS` (prefork) or `front`.

Celery runs no coroutines: each task calls asyncio.run(), and revoke(terminate=True) kills the
pool process that runs it.
"""
# mypy: ignore-errors
# (type-checked in its own venv: tgfetch's venv has none of the spike's queue libraries)

from __future__ import annotations

import asyncio
import os
import signal
import sys
from types import FrameType
from typing import Any

from celery import Celery
from common import body, front_loop, log

URL = os.environ["SPIKE_URL"]
APP = Celery("spike", broker=URL, backend=URL)
APP.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    worker_disable_prefetch=True,
    # An unacked message is delivered again after the visibility timeout, whether its worker
    # died or is still running it; kombu sweeps about every 100 s.
    broker_transport_options={"visibility_timeout": int(os.environ.get("SPIKE_VIS_S", "30"))},
    broker_connection_retry_on_startup=True,
)


@APP.task(name="job", bind=True)
def job(self: Any, key: str, secs: float) -> str:
    wid = self.request.hostname.split("@")[0]

    def on_term(signum: int, frame: FrameType | None) -> None:
        log(ev="cancelled", job=key, worker=wid)
        os._exit(1)

    signal.signal(signal.SIGTERM, on_term)
    return asyncio.run(body(key, secs, wid))


async def run_front() -> None:
    async def enqueue(key: str, secs: float) -> None:
        await asyncio.to_thread(job.apply_async, (key, secs), task_id=key)

    async def abort(key: str) -> None:
        await asyncio.to_thread(APP.control.revoke, key, terminate=True)

    await front_loop(enqueue, abort)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        wid, slots = sys.argv[2], sys.argv[3]
        APP.worker_main(
            [
                *("worker", "-P", "prefork", "-c", slots, "-n", f"{wid}@spike"),
                *("--loglevel", "WARNING", "--without-gossip", "--without-mingle"),
            ]
        )
    else:
        asyncio.run(run_front())
