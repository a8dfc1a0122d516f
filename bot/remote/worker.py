"""A worker's side of a job: one SAQ job runs the pipeline once and reports to the front.

SAQ ends a running job by cancelling its task, for three reasons this tells apart before the
pipeline settles (docs/SCALING.md, pitfall 12): the user's Cancel (the front's abort, reason
"user-cancel"): the job ends cancelled; a sweep (this worker looked dead) or this worker
stopping: the job is interrupted, not ended, and runs again on some worker.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from bot.download.urls import normalize_url
from bot.jobs.engine import JobReport
from bot.jobs.outcomes import Delivered, Interrupted, Outcome, outcome_label
from bot.jobs.pipeline import CacheLookup, Deliverer, Pipeline
from bot.jobs.record import JobRecorder
from bot.remote import keys
from bot.remote.adapters import RemoteControl, RunReports, SnapshotCache
from bot.remote.ledger import Ledger, LedgerDeliverer
from bot.remote.outbox import Outbox
from bot.remote.queue import JobQueue
from bot.remote.tuning import Tuning
from bot.remote.wire import Finished, JobSpec, WireError

log = logging.getLogger(__name__)

USER_CANCEL = "user-cancel"  # the reason the front aborts with (SAQ's own stop says "cancelled")
# SAQ waits this long for a cancelled job's task to end before it re-queues it: room for the
# pipeline to stop (yt-dlp's next hook call) and write its report.
CANCEL_DEADLINE_S = 3.0


class Cause(StrEnum):
    USER = "user"
    SWEEP = "sweep"
    STOP = "stop"


class PipelineFactory(Protocol):
    """Builds the pipeline of one run around that run's own cache, recorder and deliverer."""

    def __call__(
        self, *, cache: CacheLookup, records: JobRecorder, deliverer: Deliverer
    ) -> Pipeline: ...


class JobRunner:
    """The function every SAQ job calls (`run`); `running` counts the jobs it has now."""

    def __init__(
        self,
        *,
        pipelines: PipelineFactory,
        deliverer: Deliverer,
        client: Redis,
        outbox: Outbox,
        tuning: Tuning,
        name: str,
        on_outcome: Callable[[JobReport], None] | None = None,
    ) -> None:
        self._pipelines = pipelines
        self._deliverer = deliverer
        self._client = client
        self._outbox = outbox
        self._tuning = tuning
        self._name = name
        self._on_outcome = on_outcome
        self.running = 0

    async def run(self, ctx: Context, *, spec: dict[str, Any]) -> None:
        saq_job = ctx["job"]
        try:
            sent = JobSpec.from_json(spec)
        except WireError as exc:  # sent by another version of tgfetch: nothing to run
            unreadable = exc
        else:
            return await self._run(ctx, saq_job, sent)
        log.error("job_unreadable key=%s error=%s", saq_job.key, unreadable)
        return None

    async def _run(self, ctx: Context, saq_job: SaqJob, sent: JobSpec) -> None:
        job, cached = sent.job, sent.cached
        attempt = saq_job.attempts
        ledger = Ledger(
            self._client,
            job.id,
            f"{self._name}:{attempt}",
            lease_s=self._tuning.claim_lease_s,
            ttl=self._tuning.ledger_ttl,
        )
        memory = await ledger.recall()
        if memory.finished:  # an earlier attempt sent the outcome and died before SAQ heard
            log.info("job_already_finished id=%d attempt=%d", job.id, attempt)
            return
        if memory.choice is not None:  # the user picked during an earlier attempt
            job = dataclasses.replace(job, choice=memory.choice)
        log.info("job_taken id=%d attempt=%d", job.id, attempt)
        reports = RunReports(
            self._outbox, ledger, job_id=job.id, attempt=attempt, worker=self._name
        )
        pipeline = self._pipelines(
            cache=SnapshotCache(self._outbox, normalize_url(job.url), cached),
            records=reports,
            deliverer=LedgerDeliverer(self._deliverer, ledger),
        )
        control = RemoteControl(self._client, job.id)
        started = time.monotonic()
        self.running += 1
        beating = asyncio.create_task(self._beat(saq_job), name=f"beat-{job.id}")
        work = asyncio.create_task(pipeline.run(job, control, reports), name=f"job-{job.id}")
        try:
            try:
                outcome = await asyncio.shield(work)
            except asyncio.CancelledError:
                cause = _cause(ctx, saq_job)
                log.info("job_stopping id=%d by=%s", job.id, cause)
                control.stop(StopReason.CANCELLED if cause is Cause.USER else StopReason.SHUTDOWN)
                work.cancel()
                last = await _settled(work)
                if last is not None and not isinstance(last, Interrupted):
                    await self._finish(job.id, reports, ledger, last, started)
                raise  # SAQ ends the job (the user's abort) or runs it again (sweep, stop)
            await self._finish(job.id, reports, ledger, outcome, started)
        finally:
            self.running -= 1
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _finish(
        self, job_id: int, reports: RunReports, ledger: Ledger, outcome: Outcome, started: float
    ) -> None:
        seconds = time.monotonic() - started
        ending = reports.ending
        if ending is None:  # the pipeline records every outcome it returns
            log.error("job_without_record id=%d outcome=%s", job_id, outcome_label(outcome))
            return
        report = Finished(job_id, ending, outcome, seconds, self._name)
        await self._outbox.send(report, also=ledger.mark_finished)
        if self._on_outcome is not None:
            self._on_outcome(JobReport(outcome, seconds))
        log.info(
            "job_end id=%d outcome=%s seconds=%.2f bytes=%d",
            job_id,
            outcome_label(outcome),
            seconds,
            outcome.size if isinstance(outcome, Delivered) else 0,
        )

    async def _beat(self, saq_job: SaqJob) -> None:
        """Touches the job's record while it runs: a worker that stops beating looks dead."""
        while True:
            await asyncio.sleep(self._tuning.beat_every)
            try:
                await saq_job.update()
            except Exception as exc:  # a beat lost is made good by the next  # noqa: BLE001
                log.debug("heartbeat_failed key=%s error=%r", saq_job.key, exc)


def _cause(ctx: Context, saq_job: SaqJob) -> Cause:
    """Why SAQ cancelled the job: SAQ notes an abort's reason before it cancels the task."""
    task = ctx["worker"].job_task_contexts.get(saq_job)
    aborted = task["aborted"] if task is not None else None
    if aborted == USER_CANCEL:
        return Cause.USER
    return Cause.SWEEP if aborted is not None else Cause.STOP


async def _settled(work: asyncio.Task[Outcome]) -> Outcome | None:
    """The pipeline's outcome once it has stopped; None when it ended without one."""
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
    queue: JobQueue, runner: JobRunner, *, slots: int, tuning: Tuning, name: str
) -> QueueWorker:
    """At most `slots` jobs at once, each taken only when a slot is free (no prefetch)."""
    return QueueWorker(
        queue,
        functions=[(keys.FUNCTION, runner.run)],
        id=name,
        concurrency=slots,
        timers=tuning.timers(),
        cancellation_hard_deadline_s=CANCEL_DEADLINE_S,
        metadata={"slots": slots},
    )
