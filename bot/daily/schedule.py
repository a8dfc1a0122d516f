"""Puts the daily job on PTB's JobQueue: daily at DAILY_JOB_TIME in TZ, plus start-up catch-up."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from telegram.ext import Application

from bot.daily.expiry import ExpiryService

log = logging.getLogger(__name__)

DAILY_JOB = "daily-expiry"
CATCH_UP_JOB = "daily-expiry-catch-up"


def schedule_daily(
    app: Application[Any, Any, Any, Any, Any, Any],
    expiry: ExpiryService,
    at: dt.time,
    zone: dt.tzinfo,
) -> None:
    """ExpiryService.run and catch_up are the boundaries that log and report failures."""
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("PTB was installed without its job-queue extra")

    async def daily_job(_ctx: object) -> None:
        """The scheduled run."""
        await expiry.run()

    async def catch_up_job(_ctx: object) -> None:
        """Run once at start-up: makes up for a scheduled run missed while the bot was down."""
        await expiry.catch_up()

    daily = queue.run_daily(daily_job, time=at.replace(tzinfo=zone), name=DAILY_JOB)
    queue.run_once(catch_up_job, when=0, name=CATCH_UP_JOB)
    following = daily.next_t.isoformat() if daily.next_t else "?"
    log.info("daily_job_scheduled at=%s tz=%s next=%s", at.isoformat("minutes"), zone, following)
