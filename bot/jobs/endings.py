"""How a job's run ends: the outcome written first, then the chat told, each on its own.

Each ending (job state, link outcome, file_id) is written to the database in one step the
moment it is known; only then is the chat told, and a last message that does not go out is
retried on its own. So a restart never reruns a job that ended, and /history is right,
whatever happens to that message.
"""

from __future__ import annotations

import asyncio
import logging

from bot.download.cancel import StopReason
from bot.i18n import Translator
from bot.jobs.active import ActiveJob
from bot.jobs.conclusion import Conclusion
from bot.jobs.texts import unconfirmed_text
from bot.model.failures import JobError, UnconfirmedDeliveryError
from bot.model.job import JobState
from bot.render import failure_text
from bot.store.links import LinkOutcome
from bot.store.outcomes import Ending, OutcomeRepo

log = logging.getLogger(__name__)

# A last message that did not go out (the request layer's own retries spent) is tried again
# after these pauses; the job's outcome is recorded whatever becomes of it.
FINAL_RETRY_DELAYS_S = (5.0, 30.0)
# While the daemon stops, a job's last message gets one try this long: the jobs have 2 s of
# the stop's 3, and a job still talking would count as one that never stopped.
STOPPING_MESSAGE_S = 1.0


class JobEndings:
    def __init__(
        self,
        outcomes: OutcomeRepo,
        final_retry_delays: tuple[float, ...] = FINAL_RETRY_DELAYS_S,
        stopping_message_s: float = STOPPING_MESSAGE_S,
    ) -> None:
        self._outcomes = outcomes
        self._delays = final_retry_delays
        self._stopping_message_s = stopping_message_s

    async def delivered(self, active: ActiveJob, ending: Ending, end: Conclusion) -> Conclusion:
        """Record a delivery (or one that may have happened); a stop cannot interrupt it."""

        async def write() -> Conclusion:
            await self._write(active, ending)
            return end

        # Shielded: a SIGTERM arriving now must not leave the job to be delivered twice.
        active.delivered = asyncio.ensure_future(write())
        return await asyncio.shield(active.delivered)

    async def unconfirmed(
        self,
        active: ActiveJob,
        tr: Translator,
        error: UnconfirmedDeliveryError,
        size: int | None,
        title: str | None,
    ) -> Conclusion:
        """The file went out and its answer was lost: done, and the user is asked to check."""
        log.warning(
            "job_delivery_unconfirmed id=%d route=%s detail=%s",
            active.id,
            error.route,
            error.detail,
        )
        ending = Ending(JobState.DONE, LinkOutcome.UNCONFIRMED, size=size, title=title)
        end = Conclusion("unconfirmed", 0, unconfirmed_text(tr))
        return await self.delivered(active, ending, end)

    async def failed(self, active: ActiveJob, tr: Translator, error: JobError) -> Conclusion:
        ending = Ending(JobState.FAILED, LinkOutcome.FAILED, reason=error.reason.value)
        await self._record(active, ending)
        return Conclusion("failed", text=failure_text(tr, error))

    async def stopped(self, active: ActiveJob, tr: Translator, reason: StopReason) -> Conclusion:
        """A restart (the job runs again) or a Cancel."""
        if reason is StopReason.SHUTDOWN:
            # A restart is not the job's fault: it keeps its attempts for the next start.
            await self._record(active, Ending(JobState.QUEUED, attempts=active.job.attempts))
            return Conclusion(
                "interrupted",
                text=tr("⏸ The bot is restarting. Your download will continue when it is back."),
            )
        await self._record(active, Ending(JobState.CANCELLED, LinkOutcome.CANCELLED))
        return Conclusion("cancelled", text=tr("✖️ Cancelled."))

    async def tell(self, active: ActiveJob, end: Conclusion) -> None:
        """The job's last word in the chat, tried on its own: a failure here never reruns the
        job, whose outcome is already recorded. While the daemon stops: one short try."""
        if active.cancel.reason is not StopReason.SHUTDOWN:
            await self._say(active, end, self._delays)
            return
        try:
            async with asyncio.timeout(self._stopping_message_s):
                await self._say(active, end, ())
        except TimeoutError:
            log.warning("final_message_cut_short id=%d (stopping)", active.id)

    async def _say(self, active: ActiveJob, end: Conclusion, delays: tuple[float, ...]) -> None:
        if end.text is None:  # the file is the answer: the status message goes
            try:
                await active.status.remove()
            except Exception:  # the outcome is recorded; a stray status message is all we risk
                log.exception("status_remove_failed id=%d", active.id)
            return
        for attempt in range(len(delays) + 1):
            try:
                if await active.status.final(end.text):
                    return
            except Exception:  # the outcome is recorded; log the bug, do not undo the job
                log.exception("final_message_failed id=%d", active.id)
                return
            if attempt == len(delays):
                break
            log.warning(
                "final_message_not_sent id=%d attempt=%d retry_in=%.0f",
                active.id,
                attempt + 1,
                delays[attempt],
            )
            await asyncio.sleep(delays[attempt])
        log.error("final_message_gave_up id=%d attempts=%d", active.id, len(delays) + 1)

    async def _record(self, active: ActiveJob, ending: Ending) -> None:
        """Write an ending; a database failure is logged and the user is still told."""
        try:
            await self._write(active, ending)
        except Exception:  # the chat must still hear how the job ended
            log.exception("job_record_failed id=%d state=%s", active.id, ending.state)

    async def _write(self, active: ActiveJob, ending: Ending) -> None:
        await self._outcomes.record(active.id, active.job.link_id, ending)
        link = ending.link.value if ending.link is not None else "unchanged"
        log.info("job_recorded id=%d state=%s link=%s", active.id, ending.state, link)


async def settle(recording: asyncio.Future[Conclusion]) -> Conclusion:
    """Waits for the bookkeeping of a delivered file; its failure is logged, not raised."""
    try:
        return await recording
    except Exception:
        log.exception("delivery_record_failed")
        return Conclusion("delivered")
