"""Puts the daily job on PTB's JobQueue: daily at DAILY_JOB_TIME in TZ, plus start-up catch-up."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from telegram.ext import Application

from bot.handlers.context import BotContext

log = logging.getLogger(__name__)

DAILY_JOB = "daily-expiry"
CATCH_UP_JOB = "daily-expiry-catch-up"


async def daily_job(ctx: BotContext) -> None:
    """The scheduled run; ExpiryService.run is the boundary that logs and reports failures."""
    await ctx.services.expiry.run()


async def catch_up_job(ctx: BotContext) -> None:
    """Run once at start-up: makes up for a scheduled run missed while the bot was down."""
    await ctx.services.expiry.catch_up()


def schedule_daily(
    app: Application[Any, BotContext, Any, Any, Any, Any],
    at: dt.time,
    zone: dt.tzinfo,
) -> None:
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("PTB was installed without its job-queue extra")
    daily = queue.run_daily(daily_job, time=at.replace(tzinfo=zone), name=DAILY_JOB)
    queue.run_once(catch_up_job, when=0, name=CATCH_UP_JOB)
    following = daily.next_t.isoformat() if daily.next_t else "?"
    log.info("daily_job_scheduled at=%s tz=%s next=%s", at.isoformat("minutes"), zone, following)
