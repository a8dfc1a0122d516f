"""The job engine of the front (QUEUE_URL set): it admits, answers cached links itself, sends
every other job to the workers through SAQ, and shows what they report.

The front downloads nothing: its pipeline's fetch stage hands the job on (FetchElsewhereError).
It stays the only writer of SQLite and the only sender of status edits: each job's presenter
lives here, fed by the workers' lossy event stream (events.py), so the edit rate per chat holds
however many workers there are. How a job ended it reads from the queue: a worker's result is
stored by SAQ with the job's status (upkeep.py reads them, intake.py records them). A job a
site refused for now waits here, out of the queue, for its next try (parked.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from redis.asyncio import Redis

from bot.download.cancel import StopReason
from bot.jobs.control import JobControl
from bot.jobs.engine import Admission, JobObserver, JobReport, ObserverFactory, SubmitResult
from bot.jobs.events import Chosen, JobEvent, NeedChoice, Queued, RetryLater
from bot.jobs.fetch import FetchElsewhereError, cache_key
from bot.jobs.manager import Limits, OutcomeHook, WaitUntil, run_job, wall_clock_wait
from bot.jobs.outcomes import Cancelled, Failed, Parked
from bot.jobs.pipeline import Pipeline
from bot.model.job import DEFAULT_PREFS, FormatChoice, Job, JobPrefs, JobState
from bot.remote import keys
from bot.remote.events import EventReader
from bot.remote.intake import FrontStores, record_result, record_taken
from bot.remote.parked import ParkingLot
from bot.remote.queue import WorkQueue
from bot.remote.redis_client import UNAVAILABLE, QueueProbe
from bot.remote.tasks import log_crash, stop_tasks
from bot.remote.tuning import Tuning
from bot.remote.upkeep import Upkeep
from bot.remote.wire import JobSpec, Result
from bot.store.links import LinkOutcome
from bot.store.outcomes import Ending

log = logging.getLogger(__name__)

QUEUE_NOTICE_S = 1.0  # a job not taken by a worker within this is shown its queue position
CHOICE_GRACE_S = 2.0  # a pick this late after the question may still reach the worker


@dataclass(eq=False)
class _AtWorker:
    """A job the front waits on: at a worker (or in the queue), or answered here."""

    job: Job
    observer: JobObserver
    since: float
    taken: bool = False  # a worker has begun it
    attempts: int = 0  # the attempt recorded as begun
    here: asyncio.Task[None] | None = None  # answered from the cache by the front itself
    control: JobControl = field(default_factory=JobControl)
    asking_until: float | None = None  # the worker waits for the user's format pick
    cancel_wanted: bool = False
    replaced: bool = False  # cancelled for another format: its status message goes quietly
    cancel_landed: float | None = None  # when the queue first held the abort
    shown_position: int = 0
    parked: bool = False  # waits out of the queue for its next try (parked.py)

    @property
    def id(self) -> int:
        return self.job.id


class RemoteEngine:
    """The Engine of a front."""

    def __init__(
        self,
        *,
        limits: Limits,
        stores: FrontStores,
        pipeline: Pipeline,
        queue: WorkQueue,
        client: Redis,
        probe: QueueProbe,
        tuning: Tuning,
        observers: ObserverFactory,
        wall_clock: Callable[[], dt.datetime],
        on_outcome: OutcomeHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait_until: WaitUntil | None = None,
    ) -> None:
        self._limits = limits
        self._stores = stores
        self._pipeline = pipeline
        self._queue = queue
        self._client = client
        self._probe = probe
        self._tuning = tuning
        self._observers = observers
        self._on_outcome = on_outcome
        self._clock = clock
        self._jobs: dict[int, _AtWorker] = {}
        self._per_user: Counter[int] = Counter()
        self._cancel_epoch: Counter[int] = Counter()
        self._stopping = False
        self._session = False
        self._tasks: set[asyncio.Task[None]] = set()  # last words and answers from the cache
        self._wall_clock = wall_clock
        events = EventReader(client, probe, self.show)
        self._upkeep = Upkeep(engine=self, queue=queue, probe=probe, tuning=tuning, clock=clock)
        # Started by resume(), stopped by shutdown(): the probe, the events, the chores.
        self._chores = (probe.run, events.run, self._upkeep.run)
        wait = wait_until or wall_clock_wait(wall_clock)
        self._lot: ParkingLot[_AtWorker] = ParkingLot(queue, probe, self.enqueue, wait)
        self._background: list[asyncio.Task[None]] = []

    # --- Engine -------------------------------------------------------------------------

    @property
    def running(self) -> int:
        return sum(1 for e in self._jobs.values() if e.taken or e.here is not None)

    @property
    def queued(self) -> int:
        return sum(1 for e in self.at_queue() if not e.taken)

    async def submit(
        self,
        *,
        user_id: int,
        chat_id: int,
        url: str,
        language: str,
        reply_to: int | None,
        choice: FormatChoice = FormatChoice.AUTO,
        thread_id: int | None = None,
        prefs: JobPrefs = DEFAULT_PREFS,
    ) -> SubmitResult:
        if self._stopping:
            return SubmitResult(Admission.STOPPING)
        if self._per_user[user_id] >= self._limits.per_user:
            return SubmitResult(Admission.USER_LIMIT)
        if self.queued >= self._limits.max_queued:
            return SubmitResult(Admission.QUEUE_FULL)
        if not self._probe.up:
            return SubmitResult(Admission.UNAVAILABLE)
        self._per_user[user_id] += 1  # reserved before any await, so bursts cannot overrun
        epoch = self._cancel_epoch[user_id]
        stores = self._stores
        try:
            link_id = await stores.links.add(user_id, url)
            job = await stores.jobs.create(
                user_id=user_id,
                chat_id=chat_id,
                url=url,
                language=language,
                link_id=link_id,
                reply_to=reply_to,
                choice=choice,
                thread_id=thread_id,
                prefs=prefs,
            )
        except BaseException:
            self._release(user_id)
            raise
        entry = _AtWorker(job, self._observers(job, reply_to), self._clock())
        if self._cancel_epoch[user_id] != epoch:  # /cancel came while this was written
            self._release(user_id)
            await self._record_cancel(entry)
            await entry.observer.finish(Cancelled(), retry=False)
            return SubmitResult(Admission.ACCEPTED, job.id, 0)
        self._jobs[job.id] = entry
        if await self._pipeline.in_cache(job):
            log.info("job_submitted id=%d user=%d route=cache", job.id, user_id)
            entry.here = self._spawn(self._answer_here(entry), f"job-{job.id}")
            return SubmitResult(Admission.ACCEPTED, job.id, 0)
        if not await self.enqueue(job):
            self._forget(entry)
            await stores.jobs.discard(job.id)  # refused, as if never sent: try again later
            await entry.observer.close()
            return SubmitResult(Admission.UNAVAILABLE)
        log.info("job_submitted id=%d user=%d route=queue", job.id, user_id)
        return SubmitResult(Admission.ACCEPTED, job.id, 0)

    async def cancel(
        self, job_id: int, user_id: int, *, admin: bool = False, replaced: bool = False
    ) -> bool:
        entry = self._jobs.get(job_id)
        if entry is None or not (admin or entry.job.user_id == user_id):
            return False
        entry.replaced = entry.replaced or replaced
        if entry.parked:  # cancelled here, or by the queue once it is back there
            entry.cancel_wanted = True
            if self._lot.cancel(job_id):
                await self.give_up(entry, Cancelled(replaced))
            return True
        if entry.here is not None:
            entry.control.stop(StopReason.REPLACED if replaced else StopReason.CANCELLED)
            entry.here.cancel()
            return True
        if not entry.cancel_wanted:
            entry.cancel_wanted = True
            log.info("job_cancel_asked id=%d", job_id)
            await self._abort(entry)
        return True

    async def cancel_user(self, user_id: int) -> int:
        self._cancel_epoch[user_id] += 1
        ids = [e.id for e in self._jobs.values() if e.job.user_id == user_id]
        return sum([await self.cancel(job_id, user_id) for job_id in ids])

    async def choose(self, job_id: int, user_id: int, choice: FormatChoice) -> bool:
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.user_id != user_id:
            return False
        if entry.asking_until is None or self._clock() > entry.asking_until:
            return False
        key = keys.choice(job_id)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.rpush(key, choice.value)
                pipe.expire(key, self._tuning.ttl)
                await pipe.execute()
        except UNAVAILABLE as exc:
            self._probe.failed(exc)
            return False
        entry.asking_until = None
        return True

    async def resume(self) -> int:
        """Wait again on every unfinished job: their workers go on without the front, and
        the results of those that ended meanwhile wait in the queue."""
        await self._stores.jobs.begin_session()
        jobs = await self._stores.jobs.unfinished()
        for job in jobs:
            entry = _AtWorker(job, self._observers(job, job.reply_to), self._clock())
            entry.taken = job.state is JobState.RUNNING
            entry.attempts = job.attempts
            self._jobs[job.id] = entry
            self._per_user[job.user_id] += 1
            if job.state is JobState.PARKED:  # the user was told already: nothing to say
                self._lot.park(entry, job.retry_at or job.created_at)
        self._session = True
        await self._probe.check()
        for chore in self._chores:
            task = asyncio.create_task(chore(), name=f"front-{chore.__qualname__}")
            task.add_done_callback(log_crash)
            self._background.append(task)
        log.info("jobs_resumed count=%d queue=%s", len(jobs), self._probe.state)
        return len(jobs)

    async def shutdown(self, grace: float) -> None:
        """The workers go on: nothing is stopped but what runs here; every job waits on."""
        self._stopping = True
        deadline = self._clock() + grace
        await stop_tasks(self._background, grace)
        await self._lot.stop()
        for entry in self._jobs.values():
            if entry.here is not None:
                entry.control.stop(StopReason.SHUTDOWN)
                entry.here.cancel()
            else:
                await entry.observer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=max(0.0, deadline - self._clock()))
        for task in self._tasks:
            task.cancel()
        if self._session and not any(e.here is not None for e in self._jobs.values()):
            await self._stores.jobs.end_session()

    # --- what the queue and the workers show (events.py, upkeep.py) ------------------------

    def show(self, job_id: int, event: JobEvent) -> None:
        entry = self._jobs.get(job_id)
        if entry is None:
            return
        if isinstance(event, NeedChoice):
            entry.asking_until = self._clock() + event.seconds + CHOICE_GRACE_S
        elif isinstance(event, Chosen):
            entry.asking_until = None
        entry.observer.emit(event)

    def at_queue(self) -> list[_AtWorker]:
        """Every job the queue should hold (not answered here)."""
        return [e for e in self._jobs.values() if e.here is None and not e.parked]

    def show_positions(self) -> None:
        """Jobs waiting longer than a moment are told their place in the queue (SAQ's queue
        is first in, first out)."""
        now = self._clock()
        waiting = sorted((e for e in self.at_queue() if not e.taken), key=lambda e: e.id)
        for position, entry in enumerate(waiting, start=1):
            if now - entry.since >= QUEUE_NOTICE_S and entry.shown_position != position:
                entry.shown_position = position
                entry.observer.emit(Queued(position))

    async def taken(self, entry: _AtWorker, attempts: int) -> None:
        entry.taken, entry.attempts = True, attempts
        at = self._wall_clock().timestamp()
        await record_taken(self._stores.db, entry.id, attempts, at=at)

    async def finished(self, entry: _AtWorker, result: Result) -> None:
        """Record a worker's result and tell it (a database failure: the next pass tries
        again)."""
        at = self._wall_clock().timestamp()
        key = cache_key(entry.job)
        written = await record_result(self._stores.db, entry.id, key, result, at=at)
        outcome = result.outcome
        if not (written and isinstance(outcome, Parked)):
            self._forget(entry)
        if not written:  # recorded (and told) already
            log.info("job_result_again id=%d", entry.id)
            return
        state, worker = result.ending.state, result.worker
        log.info("job_reported id=%d state=%s worker=%s", entry.id, state, worker)
        if self._on_outcome is not None:
            self._on_outcome(JobReport(outcome, result.seconds, entry.job.url))
        if isinstance(outcome, Parked):  # not its last word: it is tried again
            again = replace(entry.job, state=JobState.PARKED, parked_since=outcome.since)
            self._jobs[entry.id] = _AtWorker(again, entry.observer, self._clock())
            self._lot.park(self._jobs[entry.id], outcome.retry_at)  # the user's slot stays taken
            entry.observer.emit(RetryLater(outcome.failure.reason.value, self._limits.park_hours))
            if entry.cancel_wanted:  # asked while the worker ran: it ends here
                await self.cancel(entry.id, entry.job.user_id, replaced=entry.replaced)
            return
        if entry.replaced and isinstance(outcome, Cancelled):
            outcome = Cancelled(replaced=True)
        self._spawn(entry.observer.finish(outcome), f"finish-{entry.id}")

    async def give_up(self, entry: _AtWorker, outcome: Cancelled | Failed) -> None:
        """Record and tell an ending no worker will report (it is gone, or the queue is)."""
        if self._jobs.get(entry.id) is not entry:
            return
        self._forget(entry)
        if isinstance(outcome, Cancelled):
            await self._record_cancel(entry)
        else:
            ending = Ending(JobState.FAILED, LinkOutcome.FAILED, reason=outcome.reason.value)
            await self._stores.outcomes.record(entry.id, entry.job.link_id, ending)
        self._spawn(entry.observer.finish(outcome), f"finish-{entry.id}")

    # --- inside -------------------------------------------------------------------------

    async def enqueue(self, job: Job) -> bool:
        cached = await self._stores.cache.of_url(cache_key(job))
        spec = JobSpec(job=job, cached=cached).dump()
        try:
            await self._queue.enqueue(
                keys.FUNCTION, key=str(job.id), spec=spec, **self._tuning.job_settings()
            )
        except UNAVAILABLE as exc:
            self._probe.failed(exc)
            log.warning("job_not_enqueued id=%d error=%r", job.id, exc)
            return False
        return True

    async def _abort(self, entry: _AtWorker) -> None:
        """Ask the queue to stop the job now (upkeep asks again if it cannot be asked)."""
        try:
            await self._upkeep.settle(entry, await self._queue.job(str(entry.id)))
        except UNAVAILABLE as exc:
            self._probe.failed(exc)

    async def _answer_here(self, entry: _AtWorker) -> None:
        try:
            await run_job(
                self._pipeline, entry.job, entry.control, entry.observer, self._on_outcome
            )
        except FetchElsewhereError:  # the cached file_id was stale: a worker fetches it
            entry.here = None
            if await self.enqueue(entry.job):
                log.info("job_sent_on id=%d reason=cache_stale", entry.id)
            return  # if not: the next reconcile, once the queue is back
        except asyncio.CancelledError:
            log.info("job_task_cancelled id=%d", entry.id)
        self._forget(entry)

    async def _record_cancel(self, entry: _AtWorker) -> None:
        ending = Ending(JobState.CANCELLED, LinkOutcome.CANCELLED)
        await self._stores.outcomes.record(entry.id, entry.job.link_id, ending)

    def _forget(self, entry: _AtWorker) -> None:
        if self._jobs.get(entry.id) is entry:
            del self._jobs[entry.id]
            self._release(entry.job.user_id)

    def _release(self, user_id: int) -> None:
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_crash)
        return task
