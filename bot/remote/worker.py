"""A worker's side of a job: one SAQ job runs the pipeline once and returns its result, which
SAQ stores with the job's status for the front to read.

A run holds its job while its record in Redis is touched within the heartbeat (its tenure) and
sends each part under a claim (claim.py). A run that loses either stops, records nothing and
hands the job back: the next attempt, on any worker, reads the ledger and sends nothing twice.

SAQ ends a running job by cancelling its task, for three reasons told apart before the pipeline
settles (docs/SCALING.md): the user's Cancel (the front's abort, reason "user-cancel"): the job
ends cancelled, or delivered if it got there; a sweep (this worker looked dead) or this worker
stopping: the job is interrupted, not ended, and runs again on some worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

from redis.asyncio import Redis
from saq import Worker
from saq.job import Job as SaqJob
from saq.types import Context

from bot.download.cancel import StopReason
from bot.jobs.engine import JobReport
from bot.jobs.fetch import cache_key
from bot.jobs.outcomes import Delivered, Interrupted, Outcome, outcome_label
from bot.jobs.pipeline import CacheLookup, Pipeline
from bot.jobs.record import JobRecorder
from bot.jobs.run import Deliverer
from bot.remote import keys
from bot.remote.adapters import RemoteControl, RunReports
from bot.remote.events import EventWriter
from bot.remote.ledger import Ledger, LedgerDeliverer
from bot.remote.queue import WorkQueue
from bot.remote.tuning import Tuning
from bot.remote.wire import JobSpec, Result, WireError

log = logging.getLogger(__name__)

USER_CANCEL = "user-cancel"  # the reason the front aborts with (SAQ's own stop says "cancelled")
# SAQ waits this long for a cancelled job's task to end before it re-queues it: room for the
# pipeline to stop (yt-dlp's next hook call) and write its result.
CANCEL_DEADLINE_S = 3.0
WRITE_RETRY_S = 1.0  # between tries of a result Redis did not answer


class StopCause(StrEnum):
    USER = "user"
    SWEEP = "sweep"
    STOP = "stop"


class PipelineFactory(Protocol):
    """Builds the pipeline of one run around that run's own cache, recorder and deliverer."""

    def __call__(
        self, *, cache: CacheLookup, records: JobRecorder, deliverer: Deliverer
    ) -> Pipeline: ...


class Tenure:
    """Whether this attempt still holds its job: its record touched (a beat that landed) within
    the heartbeat. Lost, the run stops: a sweep may have handed the job on already."""

    def __init__(
        self, queue: WorkQueue, job: SaqJob, tuning: Tuning, clock: Callable[[], float]
    ) -> None:
        self._queue = queue
        self._job = job
        self._tuning = tuning
        self._clock = clock
        self._until = clock() + tuning.heartbeat  # SAQ touched the record as it took the job
        self.lost = asyncio.Event()

    def holds(self) -> bool:
        return not self.lost.is_set() and self._clock() < self._until

    async def keep(self) -> None:
        """Beat until cancelled, or until the job is lost."""
        while not self.lost.is_set():
            await asyncio.sleep(self._tuning.beat_every)
            sent = self._clock()
            answer = await self._queue.beat(self._job)
            if answer == "ok":
                self._until = sent + self._tuning.heartbeat
            elif answer in ("other", "gone"):  # swept and run again, or Redis lost it
                self.lose(f"record_{answer}")
            elif not self.holds():  # no beat landed for a whole heartbeat
                self.lose("heartbeat")

    def lose(self, why: str) -> None:
        if not self.lost.is_set():
            log.warning(
                "job_lost key=%s attempt=%d why=%s", self._job.key, self._job.attempts, why
            )
            self.lost.set()


class JobRunner:
    """The function every SAQ job calls (`run`); `running` counts the jobs it has now."""

    def __init__(
        self,
        *,
        pipelines: PipelineFactory,
        deliverer: Deliverer,
        client: Redis,
        queue: WorkQueue,
        events: EventWriter,
        tuning: Tuning,
        name: str,
        on_outcome: Callable[[JobReport], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pipelines = pipelines
        self._deliverer = deliverer
        self._client = client
        self._queue = queue
        self._events = events
        self._tuning = tuning
        self._name = name
        self._on_outcome = on_outcome
        self._clock = clock
        self.running = 0

    async def run(self, ctx: Context, *, spec: dict[str, Any]) -> dict[str, Any] | None:
        saq_job = ctx["job"]
        try:
            sent = JobSpec.read(spec)
        except WireError as exc:  # sent by another version of tgfetch: nothing to run
            unreadable = exc
        else:
            self.running += 1
            try:
                return await self._run(ctx, saq_job, sent)
            finally:
                self.running -= 1
        log.error("job_unreadable key=%s error=%s", saq_job.key, unreadable)
        return None

    async def _run(self, ctx: Context, saq_job: SaqJob, sent: JobSpec) -> dict[str, Any]:
        job, attempt = sent.job, saq_job.attempts
        # SAQ runs a job whether or not its take landed: a job another attempt holds, or one
        # that ended while this worker was cut off (its dequeue answered late), is left alone.
        if (taken := await self._queue.beat(saq_job)) not in ("ok", "unanswered"):
            log.info("job_not_taken id=%d attempt=%d record=%s", job.id, attempt, taken)
            raise asyncio.CancelledError  # SAQ's re-queue of it is refused too
        tenure = Tenure(self._queue, saq_job, self._tuning, self._clock)
        token = f"{self._name}:{attempt}"
        ledger = Ledger(self._client, job.id, token, self._tuning, alive=tenure.holds)
        if (choice := await ledger.recall()) is not None:  # the user picked in an earlier attempt
            job = dataclasses.replace(job, choice=choice)
        log.info("job_taken id=%d attempt=%d", job.id, attempt)
        reports = RunReports(self._events, ledger, job.id, cache_key(job), sent.cached)
        pipeline = self._pipelines(
            cache=reports, records=reports, deliverer=LedgerDeliverer(self._deliverer, ledger)
        )
        control = RemoteControl(self._client, job.id, self._tuning.call_deadline_s)
        started = self._clock()
        keeping = asyncio.create_task(tenure.keep(), name=f"tenure-{job.id}")
        work = asyncio.create_task(pipeline.run(job, control, reports), name=f"job-{job.id}")
        lost = asyncio.create_task(tenure.lost.wait(), name=f"lost-{job.id}")
        try:
            try:
                await asyncio.wait([work, lost], return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                cause = _cause(ctx, saq_job)
                log.info("job_stopping id=%d by=%s", job.id, cause)
                last = await _stop(work, control, user=cause is StopCause.USER)
                if (
                    cause is StopCause.USER
                    and last is not None
                    and not isinstance(last, Interrupted)
                ):
                    await self._finish(saq_job, tenure, reports, last, started)
                raise  # SAQ ends the job (the user's abort) or runs it again (sweep, stop)
            outcome = await _stop(work, control, user=False)  # stopped if the job was lost
            if tenure.lost.is_set() or outcome is None or isinstance(outcome, Interrupted):
                # Its tenure or a claim lost: the job is for the next attempt to end.
                log.info("job_handed_back id=%d attempt=%d", job.id, attempt)
                raise asyncio.CancelledError  # SAQ puts it back; refused if it was swept
            return await self._finish(saq_job, tenure, reports, outcome, started)
        finally:
            for task in (keeping, lost):
                task.cancel()
            await asyncio.gather(keeping, lost, return_exceptions=True)

    async def _finish(
        self,
        saq_job: SaqJob,
        tenure: Tenure,
        reports: RunReports,
        outcome: Outcome,
        started: float,
    ) -> dict[str, Any]:
        """Store the result with the job's record while the job is still this attempt's (SAQ
        stores it again as the function returns: refused then, as already stored)."""
        seconds = self._clock() - started
        ending = reports.ending
        if ending is None:  # the pipeline records every outcome it returns
            raise RuntimeError(f"job {saq_job.key} ended {outcome_label(outcome)} unrecorded")
        result = Result(
            ending=ending,
            outcome=outcome,
            choice=reports.choice,
            dropped=tuple(reports.dropped),
            seconds=seconds,
            worker=self._name,
        ).dump()
        answer = await self._queue.write_finish(saq_job, result)
        while answer == "unanswered" and tenure.holds():
            await asyncio.sleep(WRITE_RETRY_S)
            answer = await self._queue.write_finish(saq_job, result)
        if self._on_outcome is not None:
            self._on_outcome(JobReport(outcome, seconds))
        log.info(
            "job_end id=%s outcome=%s seconds=%.2f bytes=%d stored=%s",
            saq_job.key,
            outcome_label(outcome),
            seconds,
            outcome.size if isinstance(outcome, Delivered) else 0,
            answer,
        )
        return result


def _cause(ctx: Context, saq_job: SaqJob) -> StopCause:
    """Why SAQ cancelled the job: SAQ notes an abort's reason before it cancels the task."""
    task = ctx["worker"].job_task_contexts.get(saq_job)
    aborted = task["aborted"] if task is not None else None
    if aborted == USER_CANCEL:
        return StopCause.USER
    return StopCause.SWEEP if aborted is not None else StopCause.STOP


async def _stop(
    work: asyncio.Task[Outcome], control: RemoteControl, *, user: bool
) -> Outcome | None:
    """The pipeline's outcome once it has stopped (stopped here unless it ended); None when it
    ended without one."""
    if not work.done():
        control.stop(StopReason.CANCELLED if user else StopReason.SHUTDOWN)
        work.cancel()
    try:
        return await work
    except asyncio.CancelledError:
        return None
    except Exception:  # task boundary: the job runs again elsewhere
        log.exception("job_stop_failed")
        return None


class QueueWorker(Worker[Context]):
    """SAQ's worker, minus its own signal handlers: the process owns its signals and stops
    the worker in its own order (bot/daemon/worker.py)."""

    SIGNALS = []  # noqa: RUF012 - SAQ's own class attribute, overridden the way it is declared


def build_worker(
    queue: WorkQueue, runner: JobRunner, *, slots: int, tuning: Tuning, name: str
) -> QueueWorker:
    """At most `slots` jobs at once, each taken only when a slot is free (no prefetch)."""
    return QueueWorker(
        queue,
        functions=[(keys.FUNCTION, runner.run)],
        id=name,
        concurrency=slots,
        timers=tuning.timers(),
        dequeue_timeout=tuning.dequeue_wait,
        cancellation_hard_deadline_s=CANCEL_DEADLINE_S,
        metadata={"slots": slots},
    )
