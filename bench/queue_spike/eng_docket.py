"""docket (pydocket) adapter for the queue spike: `worker ID SLOTS` or `front`."""
# mypy: ignore-errors
# (type-checked in its own venv: tgfetch's venv has none of the spike's queue libraries)

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from datetime import timedelta

from common import body, front_loop
from docket import Docket, Worker

URL = os.environ["SPIKE_URL"]
WID = sys.argv[2] if sys.argv[1] == "worker" else "front"
REDELIVERY = timedelta(seconds=int(os.environ.get("SPIKE_REDELIVERY_S", "20")))
CANCEL_REPEAT = int(os.environ.get("SPIKE_CANCEL_REPEAT", "1"))


async def job(key: str, secs: float) -> str:
    return await body(key, secs, WID)


async def run_worker(wid: str, slots: int) -> None:
    async with Docket(name="spike", url=URL) as docket:
        docket.register(job)
        async with Worker(
            docket, name=wid, concurrency=slots, redelivery_timeout=REDELIVERY
        ) as worker:
            # As docket's own CLI entry does: SIGTERM cancels run_forever().
            run = asyncio.create_task(worker.run_forever())
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, run.cancel)
            with contextlib.suppress(asyncio.CancelledError):
                await run


async def run_front() -> None:
    async with Docket(name="spike", url=URL) as docket:
        docket.register(job)

        async def enqueue(key: str, secs: float) -> None:
            await docket.add(job, key=key)(key, secs)

        async def abort(key: str) -> None:
            # A running task's cancel travels over pub/sub only: one published while the
            # worker's listener reconnects is lost. SPIKE_CANCEL_REPEAT=5 repeats it each second.
            for _ in range(CANCEL_REPEAT):
                await docket.cancel(key)
                await asyncio.sleep(1)

        await front_loop(enqueue, abort)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        asyncio.run(run_worker(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(run_front())
