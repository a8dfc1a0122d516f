"""A thread-safe stop signal shared by a job, its fetcher and the worker thread running yt-dlp.

A stop must reach work that is blocked, not only work that looks at the token now and then:
whoever blocks (a socket read in a worker thread) registers a callback with `on_stop` that
unblocks it (shuts the socket down), and the callbacks run the moment the token is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum

log = logging.getLogger(__name__)


class StopReason(StrEnum):
    CANCELLED = "cancelled"  # the user asked
    REPLACED = "replaced"  # the user asked for the link in another format (a job of its own)
    SHUTDOWN = "shutdown"  # the bot is stopping; the job resumes on the next start
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"


class CancelToken:
    """Set once with a reason; read from any thread. Past its deadline it counts as set."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._event = threading.Event()
        self._reason: StopReason | None = None
        self._stopped_at: float | None = None
        self._deadline: float | None = None
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next_key = 0
        self._lock = threading.Lock()

    def cancel(self, reason: StopReason = StopReason.CANCELLED) -> None:
        """Set the token (the first reason wins) and run every registered stop callback."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            now, deadline = self._clock(), self._deadline
            # A job that ran out of time stopped at its deadline, however late that is noticed.
            timed_out = reason is StopReason.TIMEOUT and deadline is not None and now >= deadline
            self._stopped_at = deadline if timed_out else now
            self._event.set()
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        for callback in callbacks:
            _run(callback)

    def expire_in(self, seconds: float) -> None:
        """Count as stopped (TIMEOUT) `seconds` from now: the worker's own clock for the job."""
        self._deadline = self._clock() + seconds

    @property
    def cancelled(self) -> bool:
        deadline = self._deadline
        if not self._event.is_set() and deadline is not None and self._clock() >= deadline:
            self.cancel(StopReason.TIMEOUT)
        return self._event.is_set()

    @property
    def reason(self) -> StopReason | None:
        return self._reason

    @property
    def stopped_at(self) -> float | None:
        """When the token was set, on its clock (time.monotonic): to measure stop latency."""
        return self._stopped_at

    def check(self) -> None:
        """Raise StoppedError if the token is set or its deadline has passed."""
        if self.cancelled:
            raise StoppedError(self._reason or StopReason.CANCELLED)

    def on_stop(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` when the token is set (now, if it already is); returns an unregister.

        Callbacks run in the thread that sets the token, so they must be quick and must not
        block: shutting a socket down is the typical one.
        """
        with self._lock:
            if self._reason is None:
                key = self._next_key
                self._next_key += 1
                self._callbacks[key] = callback
                return lambda: self._forget(key)
        _run(callback)
        return lambda: None

    def _forget(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)


def _run(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # one failing callback must not keep the others from running
        log.exception("stop_callback_failed")


class StoppedError(Exception):
    """The work stopped because its token was set; `reason` says why."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason.value)
        self.reason = reason
