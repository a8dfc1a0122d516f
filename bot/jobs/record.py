"""The record stage: each way a run ends, written the moment it is known, before anyone is told.

A delivery is written shielded from a stop (a SIGTERM then must not leave the job to be
delivered twice); any other ending whose write fails is logged, and the user is still told.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Protocol

from bot.download.cancel import StopReason
from bot.jobs.outcomes import (
    Cancelled,
    Delivered,
    Failed,
    Interrupted,
    Outcome,
    Parked,
    SentFile,
)
from bot.jobs.parking import ParkPolicy
from bot.jobs.run import JobRun
from bot.model.failures import FailureReason, JobError, UnconfirmedDeliveryError
from bot.model.job import FormatChoice, JobState
from bot.store.links import LinkOutcome
from bot.store.outcomes import Ending

log = logging.getLogger(__name__)


class JobRecorder(Protocol):
    """Where a job's progress through its states is written (store/outcomes.py)."""

    async def started(self, job_id: int) -> None:
        """The job runs: one more attempt."""
        ...

    async def chose(self, job_id: int, choice: FormatChoice) -> None: ...

    async def record(self, job_id: int, link_id: int | None, ending: Ending) -> None:
        """How the run ended: job state, link outcome and file_id, in one step."""
        ...


class Endings:
    """Writes how a run ended through the JobRecorder; returns the outcome to tell."""

    def __init__(
        self, records: JobRecorder, data_dir: Path, park: ParkPolicy | None = None
    ) -> None:
        self._records = records
        self._data_dir = data_dir
        self._park = park  # None: nothing is parked

    async def delivered(self, run: JobRun, ending: Ending, outcome: Outcome) -> Outcome:
        """Record a delivery (or one that may have happened); a stop cannot interrupt it."""
        # Shielded: a SIGTERM arriving now must not leave the job to be delivered twice.
        writing = asyncio.ensure_future(self._write(run, ending))
        run.delivered = (writing, outcome)
        await asyncio.shield(writing)
        return outcome

    async def unconfirmed(
        self, run: JobRun, error: UnconfirmedDeliveryError, size: int | None, title: str | None
    ) -> Outcome:
        """The file went out and its answer was lost: done, and the user is asked to check."""
        log.warning(
            "job_delivery_unconfirmed id=%d route=%s detail=%s",
            run.job.id,
            error.route,
            error.detail,
        )
        ending = Ending(JobState.DONE, LinkOutcome.UNCONFIRMED, size=size, title=title)
        outcome = Delivered((SentFile(error.route, 0, confirmed=False),))
        return await self.delivered(run, ending, outcome)

    async def failed(self, run: JobRun, error: JobError) -> Outcome:
        if error.reason is FailureReason.DISK_FULL:  # the operator's problem, not the user's
            data_dir = self._data_dir
            free = shutil.disk_usage(data_dir).free // (1024 * 1024)
            log.error(
                "disk_full id=%d data_dir=%s free_mb=%d detail=%s",
                run.job.id,
                data_dir,
                free,
                error.detail,
            )
        mark = self._park.next_try(run.job, error) if self._park is not None else None
        if mark is not None:
            # The link stays pending; attempts count crashes, which a refusal is not.
            log.info(
                "job_parked id=%d reason=%s retry_at=%s",
                run.job.id,
                error.reason,
                mark.retry_at.isoformat(timespec="seconds"),
            )
            await self._record(run, Ending(JobState.PARKED, attempts=0, parked=mark))
            return Parked(Failed.of(error), mark.since, mark.retry_at)
        ending = Ending(JobState.FAILED, LinkOutcome.FAILED, reason=error.reason.value)
        await self._record(run, ending)
        return Failed.of(error)

    async def stopped(self, run: JobRun, reason: StopReason) -> Outcome:
        """A restart (the job runs again) or a Cancel."""
        if reason is StopReason.SHUTDOWN:
            # A restart is not the job's fault: it keeps its attempts for the next start.
            await self._record(run, Ending(JobState.QUEUED, attempts=run.job.attempts))
            return Interrupted()
        await self._record(run, Ending(JobState.CANCELLED, LinkOutcome.CANCELLED))
        return Cancelled(replaced=reason is StopReason.REPLACED)

    async def _record(self, run: JobRun, ending: Ending) -> None:
        """Write an ending; a database failure is logged and the user is still told."""
        try:
            await self._write(run, ending)
        except Exception:  # the chat must still hear how the job ended
            log.exception("job_record_failed id=%d state=%s", run.job.id, ending.state)

    async def _write(self, run: JobRun, ending: Ending) -> None:
        await self._records.record(run.job.id, run.job.link_id, ending)
        link = ending.link.value if ending.link is not None else "unchanged"
        log.info("job_recorded id=%d state=%s link=%s", run.job.id, ending.state, link)


async def settle(delivered: tuple[asyncio.Future[None], Outcome]) -> Outcome:
    """Waits for the bookkeeping of a delivered file; its failure is logged, not raised."""
    writing, outcome = delivered
    try:
        await writing
    except Exception:
        log.exception("delivery_record_failed")
    return outcome
