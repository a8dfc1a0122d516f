"""Polling health: when the last getUpdates round trip finished, and whether polling is dead."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class PollMonitor:
    """Fed by the getUpdates request; read by the watchdog, /health and the stall supervisor."""

    def __init__(self, stall_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_seconds = stall_seconds
        self._clock = clock
        self._last = clock()
        self.fatal: str | None = None

    def record(self, status: int) -> None:
        self._last = self._clock()
        if status in (401, 404):
            # The token was revoked or is wrong: PTB stops polling for good after this.
            self.fatal = f"getUpdates answered {status} (token rejected)"
        elif status == 409:
            log.error(
                "poll_conflict another poller uses this token (a second instance or a webhook);"
                " retrying with backoff"
            )

    def seconds_since_last(self) -> float:
        return self._clock() - self._last

    @property
    def healthy(self) -> bool:
        return self.fatal is None and self.seconds_since_last() < self.stall_seconds

    def problem(self) -> str | None:
        """Why polling is considered dead, or None while it is healthy."""
        if self.fatal is not None:
            return self.fatal
        since = self.seconds_since_last()
        if since >= self.stall_seconds:
            return f"no getUpdates round trip for {since:.0f}s (limit {self.stall_seconds:.0f}s)"
        return None
