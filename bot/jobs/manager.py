"""The engine of this process: a bounded queue, per-user limits, real cancellation, resume."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import shutil
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from bot.download.cancel import StopReason
from bot.jobs.control import JobControl
from bot.jobs.engine import Admission, JobObserver, JobReport, ObserverFactory, SubmitResult
from bot.jobs.events import Queued, Resumed, RetryLater
from bot.jobs.outcomes import Cancelled, Delivered, Failed, Outcome, Parked, outcome_label
from bot.jobs.pipeline import Pipeline
from bot.model.failures import FailureReason
from bot.model.job import DEFAULT_PREFS, FormatChoice, Job, JobPrefs, JobState
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome
from bot.store.outcomes import Ending, OutcomeRepo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3

OutcomeHook = Callable[[JobReport], None]
# Returns at the given moment (tests pass one that returns when they say: no sleeping through
# a backoff).
WaitUntil = Callable[[dt.datetime], Awaitable[None]]


def wall_clock_wait(clock: Callable[[], dt.datetime]) -> WaitUntil:
    async def wait(moment: dt.datetime) -> None:
        await asyncio.sleep(max(0.0, (moment - clock()).total_seconds()))

    return wait


@dataclass(frozen=True, slots=True)
class Limits:
    workers: int
    per_user: int
    max_queued: int
    park_hours: float = 0  # PARK_RETRY_HOURS: what the user is told about a parked job


@dataclass(eq=False)
class _Entry:
    """A job in memory: owned by the manager, shown by its observer."""

    job: Job
    observer: JobObserver
    control: JobControl = field(default_factory=JobControl)
    task: asyncio.Task[None] | None = None

    @property
    def id(self) -> int:
        return self.job.id


class JobManager:
    """Owns every job task: starts at most `workers` at once, cancels them, resumes them."""

    def __init__(
        self,
        *,
        limits: Limits,
        repo: JobRepo,
        outcomes: OutcomeRepo,
        pipeline: Pipeline,
        observers: ObserverFactory,
        on_outcome: OutcomeHook | None = None,
        wait_until: WaitUntil | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._limits = limits
        self._on_idle = on_idle  # the last running job ended (bot/ops/heap.py's QuietTrim)
        self._wait_until = wait_until or wall_clock_wait(lambda: dt.datetime.now(dt.UTC))
        # Parked jobs (a site refused them for now), each with its task that waits for the
        # retry; they keep their place in their user's limits.
        self._parked: dict[int, _Entry] = {}
        self._repo = repo
        self._outcomes = outcomes
        self._pipeline = pipeline
        self._observers = observers
        self._on_outcome = on_outcome
        self._waiting: deque[_Entry] = deque()
        self._running: dict[int, _Entry] = {}
        self._per_user: Counter[int] = Counter()
        # Bumped by cancel_user, so a submission still being written when /cancel came is
        # cancelled too instead of starting afterwards.
        self._cancel_epoch: Counter[int] = Counter()
        self._stopping = False
        # True once resume() has dealt with the last run's jobs: only then may a clean stop
        # clear the crash marker (a stop during start-up must leave a crash's marker set).
        self._session = False
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return len(self._waiting)

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
        if len(self._waiting) >= self._limits.max_queued:
            return SubmitResult(Admission.QUEUE_FULL)
        self._per_user[user_id] += 1  # reserved before any await, so bursts cannot overrun
        epoch = self._cancel_epoch[user_id]
        try:
            # The link (for /history) and its job in one write.
            job = await self._repo.create(
                user_id=user_id,
                chat_id=chat_id,
                url=url,
                language=language,
                link_id=None,
                reply_to=reply_to,
                new_link=True,
                choice=choice,
                thread_id=thread_id,
                prefs=prefs,
            )
        except BaseException:
            self._release(user_id)
            raise
        entry = _Entry(job, self._observers(job, reply_to))
        if self._cancel_epoch[user_id] != epoch:
            self._release(user_id)
            await self._cancel_waiting(entry)
            return SubmitResult(Admission.ACCEPTED, job.id, 0)
        self._waiting.append(entry)
        position = len(self._waiting) if len(self._running) >= self._limits.workers else 0
        log.info("job_submitted id=%d user=%d position=%d", job.id, user_id, position)
        if position:
            entry.observer.emit(Queued(position))
        self._pump()
        return SubmitResult(Admission.ACCEPTED, job.id, position)

    async def resume(self) -> int:
        """Queue again every job a restart left unfinished; returns how many.

        After a crash (the last run did not end with `shutdown`), a job that was running is
        suspected of having caused it (a bomb, say) and is given up, not run again: one link
        must not crash-loop the daemon. Jobs that were only waiting are resumed.
        """
        crashed = await self._repo.begin_session()
        resumed = 0
        for job in await self._repo.unfinished():
            observer = self._observers(job, job.reply_to)
            if job.state is JobState.PARKED:  # the user was told already: nothing to say
                self._per_user[job.user_id] += 1
                self._park(_Entry(job, observer), job.retry_at or job.created_at)
                continue
            if crashed and job.state is JobState.RUNNING:
                log.warning(
                    "job_given_up id=%d reason=crashed url_length=%d", job.id, len(job.url)
                )
                # Whatever the crash left half-written goes too.
                shutil.rmtree(self._pipeline.folder_of(job.id), ignore_errors=True)
                await self._give_up(job, observer, FailureReason.CRASHED)
                continue
            if job.attempts >= MAX_ATTEMPTS:
                log.warning("job_given_up id=%d attempts=%d", job.id, job.attempts)
                await self._give_up(job, observer, FailureReason.INTERRUPTED)
                continue
            self._per_user[job.user_id] += 1
            self._waiting.append(_Entry(job, observer))
            observer.emit(Resumed())
            resumed += 1
        self._session = True
        log.info("jobs_resumed count=%d parked=%d", resumed, len(self._parked))
        self._pump()
        return resumed

    async def _give_up(self, job: Job, observer: JobObserver, reason: FailureReason) -> None:
        await self._discard(job.id)
        ending = Ending(JobState.FAILED, LinkOutcome.FAILED, reason=reason.value)
        await self._outcomes.record(job.id, job.link_id, ending)
        await observer.finish(Failed(reason), retry=False)

    async def cancel(
        self, job_id: int, user_id: int, *, admin: bool = False, replaced: bool = False
    ) -> bool:
        """Stop a job of this user (or any job, for an admin); False if there is none."""

        def mine(job: Job) -> bool:
            return admin or job.user_id == user_id

        for entry in self._waiting:
            if entry.id == job_id and mine(entry.job):
                self._waiting.remove(entry)
                self._release(entry.job.user_id)
                await self._cancel_waiting(entry, replaced=replaced)
                self._show_positions()
                return True
        parked = self._parked.get(job_id)
        if parked is not None and mine(parked.job):
            del self._parked[job_id]
            if parked.task is not None:
                parked.task.cancel()
            self._release(parked.job.user_id)
            await self._cancel_waiting(parked, replaced=replaced)
            return True
        running = self._running.get(job_id)
        if running is None or not mine(running.job):
            return False
        self._stop(running, StopReason.REPLACED if replaced else StopReason.CANCELLED)
        return True

    async def cancel_user(self, user_id: int) -> int:
        self._cancel_epoch[user_id] += 1
        entries = (*self._waiting, *self._running.values(), *self._parked.values())
        ids = [e.id for e in entries if e.job.user_id == user_id]
        return sum([await self.cancel(job_id, user_id) for job_id in ids])

    async def choose(self, job_id: int, user_id: int, choice: FormatChoice) -> bool:
        entry = self._running.get(job_id)
        if entry is None or entry.job.user_id != user_id:
            return False
        return entry.control.choose(choice)

    async def shutdown(self, grace: float) -> None:
        """Stop taking work, stop running jobs (they resume on the next start), wait `grace`."""
        self._stopping = True
        for entry in list(self._running.values()):
            self._stop(entry, StopReason.SHUTDOWN)
        for entry in self._parked.values():  # they stay parked in the database
            if entry.task is not None:
                entry.task.cancel()
        for entry in (*self._waiting, *self._parked.values()):  # nothing to say
            await entry.observer.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        if self._running:
            # Not recorded as stopped: the next start treats them as running at a crash.
            log.warning("jobs_still_running count=%d after=%.1fs", len(self._running), grace)
        elif self._session:
            await self._repo.end_session()

    def _stop(self, entry: _Entry, reason: StopReason) -> None:
        entry.control.stop(reason)
        if entry.task is not None:
            entry.task.cancel()

    def _pump(self) -> None:
        while not self._stopping and self._waiting and len(self._running) < self._limits.workers:
            entry = self._waiting.popleft()
            self._running[entry.id] = entry
            self._idle.clear()
            entry.task = asyncio.create_task(self._execute(entry), name=f"job-{entry.id}")

    async def _execute(self, entry: _Entry) -> None:
        outcome: Outcome | None = None
        try:
            outcome = await run_job(
                self._pipeline,
                entry.job,
                entry.control,
                entry.observer,
                self._on_outcome,
                self._limits.park_hours,
            )
        except asyncio.CancelledError:
            log.info("job_task_cancelled id=%d", entry.id)
        except Exception:  # task boundary: one job's bug must not take the manager down
            log.exception("job_task_failed id=%d", entry.id)
        finally:
            self._running.pop(entry.id, None)
            if isinstance(outcome, Parked) and not self._stopping:
                parked = replace(entry.job, state=JobState.PARKED, parked_since=outcome.since)
                self._park(_Entry(parked, entry.observer), outcome.retry_at)
            else:
                self._release(entry.job.user_id)
            stopped = entry.control.cancel.stopped_at
            if stopped is not None:  # how long a stopped job held its worker
                log.info("job_freed id=%d after_stop=%.2f", entry.id, time.monotonic() - stopped)
            if not self._running:
                self._idle.set()
                if self._on_idle is not None:
                    self._on_idle()
            self._pump()
            if not self._stopping:
                self._show_positions()

    def _park(self, entry: _Entry, retry_at: dt.datetime) -> None:
        """Wait for `retry_at`, then queue the job again; its user's slot stays taken."""
        self._parked[entry.id] = entry
        entry.task = asyncio.create_task(self._unpark(entry, retry_at), name=f"park-{entry.id}")

    async def _unpark(self, entry: _Entry, retry_at: dt.datetime) -> None:
        await self._wait_until(retry_at)
        if self._parked.pop(entry.id, None) is None or self._stopping:
            return
        log.info("job_unparked id=%d", entry.id)
        self._waiting.append(_Entry(entry.job, entry.observer))
        self._pump()

    def _release(self, user_id: int) -> None:
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]

    async def _discard(self, job_id: int) -> None:
        """The folder a restart kept for a job that will not run again."""
        folder = self._pipeline.folder_of(job_id)
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)

    async def _cancel_waiting(self, entry: _Entry, *, replaced: bool = False) -> None:
        await self._discard(entry.id)
        ending = Ending(JobState.CANCELLED, LinkOutcome.CANCELLED)
        await self._outcomes.record(entry.id, entry.job.link_id, ending)
        await entry.observer.finish(Cancelled(replaced), retry=False)

    def _show_positions(self) -> None:
        if len(self._running) < self._limits.workers:
            return  # nobody waits for a worker
        for index, entry in enumerate(self._waiting):
            entry.observer.emit(Queued(index + 1))


async def run_job(
    pipeline: Pipeline,
    job: Job,
    control: JobControl,
    observer: JobObserver,
    on_outcome: OutcomeHook | None = None,
    park_hours: float = 0,
) -> Outcome:
    """One run of a job: the pipeline (which records the outcome), then the last word (or,
    for a job parked, word that it is tried again)."""
    started = time.monotonic()
    outcome = await pipeline.run(job, control, observer)
    try:
        if isinstance(outcome, Parked):  # not its last word: it is tried again
            observer.emit(RetryLater(outcome.failure.reason.value, park_hours))
        else:
            await observer.finish(outcome, stopping=control.cancel.reason is StopReason.SHUTDOWN)
    finally:
        seconds = time.monotonic() - started
        if on_outcome is not None:  # counted before the log line that says it is over
            on_outcome(JobReport(outcome, seconds, job.url))
        log.info(
            "job_end id=%d outcome=%s seconds=%.2f bytes=%d",
            job.id,
            outcome_label(outcome),
            seconds,
            outcome.size if isinstance(outcome, Delivered) else 0,
        )
    return outcome
