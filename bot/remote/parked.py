"""The front's parked jobs (a site refused them for now, PARK_RETRY_HOURS): each waits for its
next try in a task of its own and then goes back to the queue, keeping its user's slot.

The queue still holds the run that parked (its result). A job is sent again only over that, or
over nothing: a later run the queue holds (sent back before the front restarted, or run while
it was away) is the front's to wait on as it is, not to run once more.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Generic

from saq.job import Job as SaqJob
from saq.job import Status

from bot.jobs.manager import WaitUntil
from bot.jobs.outcomes import Parked
from bot.model.job import Job
from bot.remote.queue import WorkQueue
from bot.remote.redis_client import UNAVAILABLE, QueueProbe
from bot.remote.tasks import log_crash
from bot.remote.upkeep import W
from bot.remote.wire import Result, WireError

log = logging.getLogger(__name__)

SAME = dt.timedelta(milliseconds=1)  # a moment read back from SQLite, to within a rounding
AGAIN_S = 5.0  # a parked job the queue could not take (Redis away) is tried again this soon


class ParkingLot(Generic[W]):
    """Parked jobs, each with the task that sends it back (`enqueue`: the front's)."""

    def __init__(
        self,
        queue: WorkQueue,
        probe: QueueProbe,
        enqueue: Callable[[Job], Awaitable[bool]],
        wait_until: WaitUntil,
    ) -> None:
        self._queue = queue
        self._probe = probe
        self._enqueue = enqueue
        self._wait_until = wait_until
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._due: set[int] = set()  # on their way back: a cancel waits for them there

    def park(self, entry: W, retry_at: dt.datetime) -> None:
        """Out of the queue until `retry_at` (its user's slot stays taken)."""
        entry.parked = True
        log.info("job_parked id=%d retry_at=%s", entry.id, retry_at.isoformat(timespec="seconds"))
        task = asyncio.create_task(self._next_try(entry, retry_at), name=f"park-{entry.id}")
        self._tasks[entry.id] = task
        self._due.discard(entry.id)
        task.add_done_callback(lambda done: self._drop(entry.id, done))
        task.add_done_callback(log_crash)

    def cancel(self, job_id: int) -> bool:
        """Stop a parked job's wait; False when it is on its way back to the queue (a cancel
        is then asked of the queue, once it holds the job)."""
        task = self._tasks.get(job_id)
        if task is None or job_id in self._due:
            return False
        task.cancel()
        return True

    async def stop(self) -> None:
        """The jobs stay parked in the database; the next start waits for them again."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _next_try(self, entry: W, retry_at: dt.datetime) -> None:
        await self._wait_until(retry_at)
        self._due.add(entry.id)
        while True:
            if await self._send(entry, retry_at):
                break
            await asyncio.sleep(AGAIN_S)
        log.info("job_unparked id=%d", entry.id)
        entry.parked = False  # the queue's: a cancel asked meanwhile goes there (upkeep.py)

    async def _send(self, entry: W, retry_at: dt.datetime) -> bool:
        """Send the job again unless the queue holds a later run of it; False when the queue
        could not be asked."""
        try:
            held = await self._queue.job(str(entry.id))
        except UNAVAILABLE as exc:
            self._probe.failed(exc)
            return False
        if held is not None and not _parked_run(held, retry_at):
            log.info("job_run_meanwhile id=%d status=%s", entry.id, held.status)
            return True
        return await self._enqueue(entry.job)

    def _drop(self, job_id: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
            self._due.discard(job_id)


def _parked_run(held: SaqJob, retry_at: dt.datetime) -> bool:
    """Whether the queue's record is the run that parked the job until `retry_at` (a later
    run parked it until later: its result is still to be recorded)."""
    if held.status is not Status.COMPLETE:
        return False
    try:
        outcome = Result.read(held.result).outcome
    except WireError:  # the front reads it as it reads any result it cannot
        return False
    return isinstance(outcome, Parked) and outcome.retry_at <= retry_at + SAME
