"""Handing one file to the deliverer: an answer that was lost, or a stop after Telegram may
already hold the file, is a delivery that is not repeated (pipeline.py, pages.py)."""

from __future__ import annotations

import asyncio

from bot.download.cancel import StopReason
from bot.jobs.outcomes import Outcome
from bot.jobs.progress import handed_over
from bot.jobs.record import Endings
from bot.jobs.run import FileSender, JobRun
from bot.model.failures import UnconfirmedDeliveryError
from bot.upload.types import Delivery, Uploaded


async def hand_over(
    sender: FileSender, end: Endings, run: JobRun, delivery: Delivery, title: str | None
) -> Uploaded | Outcome:
    """What Telegram answered, or the outcome already recorded when its answer is not known."""
    try:
        return await sender.deliver(delivery, run.tracker.update)
    except UnconfirmedDeliveryError as exc:
        return await end.unconfirmed(run, exc, delivery.size, title)
    except asyncio.CancelledError:
        if not handed_over(run.tracker):
            raise  # Telegram cannot have the file: the stop goes on as usual
        # Stopped (a restart, Cancel, the job timeout) while Telegram held the answer: the
        # file may be in the chat, so the job must not run again after a restart.
        reason = run.control.cancel.reason or StopReason.TIMEOUT
        lost = UnconfirmedDeliveryError("upload", f"stopped: {reason}")
        return await end.unconfirmed(run, lost, delivery.size, title)
