"""A thread-safe stop signal shared by a job, its fetcher and the worker thread running yt-dlp."""

from __future__ import annotations

import threading
from enum import StrEnum


class StopReason(StrEnum):
    CANCELLED = "cancelled"  # the user asked
    SHUTDOWN = "shutdown"  # the bot is stopping; the job resumes on the next start
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"


class CancelToken:
    """Set once with a reason; read from any thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._reason: StopReason | None = None
        self._lock = threading.Lock()

    def cancel(self, reason: StopReason = StopReason.CANCELLED) -> None:
        with self._lock:
            if self._reason is None:
                self._reason = reason
                self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> StopReason | None:
        return self._reason


class StoppedError(Exception):
    """The work stopped because its token was set; `reason` says why."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason.value)
        self.reason = reason
