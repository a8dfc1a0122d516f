"""The front's loop beside the events: queue positions, and what the queue holds of each job
the front waits on, read every pass in one round trip. A job taken by a worker, its result
(stored by SAQ with its status), a job the queue ended or lost, a cancel to ask for, wait on
or give up: each is acted on here, through the engine (front.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from saq.job import Job as SaqJob
from saq.job import Status

from bot.jobs.outcomes import Cancelled, Failed
from bot.model.failures import FailureReason
from bot.model.job import Job
from bot.remote.queue import WorkQueue
from bot.remote.redis_client import UNAVAILABLE, QueueProbe
from bot.remote.tuning import Tuning
from bot.remote.wire import Result, WireError
from bot.remote.worker import USER_CANCEL

log = logging.getLogger(__name__)

TICK_S = 0.5
WAITING_OR_RUNNING = frozenset({Status.NEW, Status.QUEUED, Status.ACTIVE})


class Waiter(Protocol):
    """A job the front waits on, as the loop sees it."""

    job: Job
    attempts: int  # the attempt recorded as taken
    cancel_wanted: bool
    cancel_landed: float | None  # when the queue first held its abort
    parked: bool  # waits for its next try (parked.py): not the queue's until then

    @property
    def id(self) -> int: ...


W = TypeVar("W", bound=Waiter)


class Front(Protocol[W]):
    """What the loop asks of the front's engine."""

    def at_queue(self) -> list[W]: ...

    def show_positions(self) -> None: ...

    async def enqueue(self, job: Job) -> bool: ...

    async def taken(self, entry: W, attempts: int) -> None: ...

    async def finished(self, entry: W, result: Result) -> None: ...

    async def give_up(self, entry: W, outcome: Cancelled | Failed) -> None: ...


class Upkeep(Generic[W]):
    def __init__(
        self,
        *,
        engine: Front[W],
        queue: WorkQueue,
        probe: QueueProbe,
        tuning: Tuning,
        clock: Callable[[], float],
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._probe = probe
        self._tuning = tuning
        self._clock = clock

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            self._engine.show_positions()
            if self._probe.up:
                await self.settle_all()
            await asyncio.sleep(TICK_S)

    async def settle_all(self) -> None:
        entries = self._engine.at_queue()
        if not entries:
            return
        try:
            held = await self._queue.jobs(str(e.id) for e in entries)
        except UNAVAILABLE as exc:
            self._probe.failed(exc)
            return
        for entry, job in zip(entries, held, strict=True):
            try:
                await self.settle(entry, job)
            except UNAVAILABLE as exc:
                self._probe.failed(exc)
                return
            except Exception:  # the database: the next pass tries again; the front goes on
                log.exception("job_settle_failed id=%d", entry.id)

    async def settle(self, entry: W, held: SaqJob | None) -> None:
        """Act on what the queue holds of one job."""
        engine = self._engine
        if held is None:
            if entry.cancel_wanted:  # nobody runs it: cancelled here
                await engine.give_up(entry, Cancelled())
            elif await engine.enqueue(entry.job):  # the queue lost it (Redis without its data)
                log.warning("job_enqueued_again id=%d", entry.id)
        elif held.status is Status.COMPLETE:
            try:
                result = Result.read(held.result)
            except WireError as exc:  # another version's, or a job that ran nothing
                log.warning("job_result_unreadable id=%d error=%s", entry.id, exc)
                await engine.give_up(entry, Failed(FailureReason.INTERRUPTED))
            else:
                await engine.finished(entry, result)
        elif held.status in (Status.ABORTED, Status.FAILED):  # ended by the queue itself
            error = held.error or ""
            log.warning(
                "job_ended_unreported id=%d status=%s error=%s", entry.id, held.status, error[:80]
            )
            cancelled = error == USER_CANCEL or entry.cancel_wanted
            await engine.give_up(
                entry, Cancelled() if cancelled else Failed(FailureReason.INTERRUPTED)
            )
        else:
            if held.status is Status.ACTIVE and held.attempts != entry.attempts:
                await engine.taken(entry, held.attempts)
            if entry.cancel_wanted:
                await self._cancel(entry, held)

    async def _cancel(self, entry: W, held: SaqJob) -> None:
        """SAQ removes a waiting job at once, and marks a running one for its worker, which
        looks about every second and answers with its result. If none comes within
        `cancel_give_up_s` of the mark (the worker is gone), it is recorded here."""
        now = self._clock()
        if held.status is Status.ABORTING:
            if entry.cancel_landed is None:
                entry.cancel_landed = now
            elif now - entry.cancel_landed >= self._tuning.cancel_give_up_s:
                log.warning("job_cancel_unanswered id=%d", entry.id)
                await self._engine.give_up(entry, Cancelled())
        elif held.status in WAITING_OR_RUNNING:
            await self._queue.abort(held, USER_CANCEL)
            if held.status is Status.ABORTED:  # taken out of the queue unrun
                await self._engine.give_up(entry, Cancelled())
            elif entry.cancel_landed is None:
                entry.cancel_landed = now
