"""The front's chores beside reading reports: queue positions, repeated cancels, and the
reconcile that compares the jobs the front waits on with what the queue holds.

A job the queue ended without a report (its workers died too often, or its Cancel found the
worker gone) is recorded and told here; a job the queue lost (a Redis restarted without its
data) is sent again. A queue status is acted on only when it held at two passes in a row with
every report read in between, so a report on its way is never overtaken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from saq.job import TERMINAL_STATUSES

from bot.jobs.outcomes import Cancelled, Failed
from bot.model.failures import FailureReason
from bot.remote.intake import Intake
from bot.remote.queue import JobQueue
from bot.remote.redis_client import UNAVAILABLE, QueueProbe
from bot.remote.tuning import Tuning
from bot.remote.worker import USER_CANCEL

log = logging.getLogger(__name__)

TICK_S = 1.0
CATCH_UP_S = 10.0  # at start, the reconcile waits this long for the reports to be read


class Waiter(Protocol):
    """A job the front waits on, as the chores see it."""

    @property
    def id(self) -> int: ...

    @property
    def cancel_wanted(self) -> bool: ...


W = TypeVar("W", bound=Waiter)


class Front(Protocol[W]):
    """What the chores ask of the front's engine (front.py)."""

    def show_positions(self) -> None: ...

    def cancelling(self) -> list[W]: ...

    async def repeat_cancel(self, entry: W) -> None: ...

    async def give_up(self, entry: W, outcome: Cancelled | Failed) -> None: ...

    def queued_jobs(self) -> list[W]: ...

    async def enqueue_again(self, entry: W) -> None: ...


class Upkeep(Generic[W]):
    def __init__(
        self,
        *,
        engine: Front[W],
        queue: JobQueue,
        intake: Intake,
        probe: QueueProbe,
        tuning: Tuning,
        clock: Callable[[], float],
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._intake = intake
        self._probe = probe
        self._tuning = tuning
        self._clock = clock
        self._suspects: dict[int, float] = {}  # job id -> when the queue first had it ended

    async def run(self) -> None:
        """Until cancelled: positions and cancels every second, a reconcile now and then."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CATCH_UP_S):
                await self._intake.caught_up.wait()
        next_reconcile = self._clock()
        while True:
            self._engine.show_positions()
            if self._probe.up:
                for entry in self._engine.cancelling():
                    await self._engine.repeat_cancel(entry)
                if self._clock() >= next_reconcile:
                    next_reconcile = self._clock() + self._tuning.reconcile_s
                    try:
                        await self.reconcile()
                    except UNAVAILABLE as exc:
                        self._probe.failed(exc)
            await asyncio.sleep(TICK_S)

    async def reconcile(self) -> None:
        entries = self._engine.queued_jobs()
        held = await self._queue.jobs(str(e.id) for e in entries)
        suspects: dict[int, float] = {}
        for entry, job in zip(entries, held, strict=True):
            if job is None:
                await self._engine.enqueue_again(entry)
                continue
            if job.status not in TERMINAL_STATUSES:
                continue
            seen = self._suspects.get(entry.id)
            if seen is None or self._intake.last_caught_up <= seen:
                suspects[entry.id] = seen if seen is not None else self._clock()
                continue
            # Ended in the queue, and every report since has been read: none will come.
            log.warning(
                "job_ended_unreported id=%d status=%s error=%s",
                entry.id,
                job.status,
                (job.error or "")[:80],
            )
            if job.error == USER_CANCEL or entry.cancel_wanted:
                await self._engine.give_up(entry, Cancelled())
            else:
                await self._engine.give_up(entry, Failed(FailureReason.INTERRUPTED))
        self._suspects = suspects
