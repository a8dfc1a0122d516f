"""When a job the site refused for now (a 429, the bot check, a 5xx) is tried again.

Tries back off from a hundredth of the window, doubling (the wait is as long as the job has
been parked), up to an eighth of it or an hour, and the last try is at the window's end: with
the default 6 hours, after 3.6, 7, 14, 29 and then every 45 minutes. Past the window the
failure stands. Time comes from an injectable clock, so tests never sleep through a backoff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.model.failures import JobError, passes
from bot.model.job import Job, ParkMark

MOST_S = 3600.0


@dataclass(frozen=True, slots=True)
class ParkPolicy:
    """PARK_RETRY_HOURS as a rule: whether a failure parks its job, and until when."""

    window: dt.timedelta
    clock: Callable[[], dt.datetime]

    def next_try(self, job: Job, error: JobError) -> ParkMark | None:
        """The job's next try, or None when the failure stands (not the site's for now, or
        the window is over)."""
        status = error.params.get("status")
        if self.window <= dt.timedelta(0):
            return None
        if not passes(error.reason, status if isinstance(status, int) else None):
            return None
        now = self.clock()
        since = job.parked_since or now
        end = since + self.window
        if now >= end:
            return None
        seconds = self.window.total_seconds()
        first, most = seconds / 100, min(MOST_S, seconds / 8)
        wait = min(max((now - since).total_seconds(), first), most)
        retry_at = min(now + dt.timedelta(seconds=wait), end)
        return ParkMark(since, retry_at, error.reason.value)
