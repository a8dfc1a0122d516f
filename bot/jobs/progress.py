"""Turns raw byte counts from any thread into Progress snapshots with speed and ETA, and those
into events once a second."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from bot.jobs.events import EventSink, Progress

PROGRESS_TICK_S = 1.0  # how often a transfer's progress becomes an event (when it changed)

_ALPHA = 0.3  # weight of the newest speed sample


class ProgressTracker:
    """Fed by fetchers and uploaders (possibly from a worker thread); read by the status loop."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Progress | None = None
        self._phase = "download"
        self._last_t = clock()
        self._last_done = 0
        self._speed: float | None = None
        self._part: tuple[int, int, str] = (0, 0, "part")
        self._fresh = True  # no count yet in this phase

    def phase(self, name: str, part: int = 0, parts: int = 0, unit: str = "part") -> None:
        """A new transfer begins (`part` of `parts`, for a file in parts or a playlist's item)."""
        with self._lock:
            self._phase = name
            self._part = (part, parts, unit)
            self._last_t, self._last_done, self._speed = self._clock(), 0, None
            self._snapshot = None
            self._fresh = True

    def update(self, done: int, total: int | None) -> None:
        now = self._clock()
        with self._lock:
            if self._fresh and done:
                # The first count: a resumed download starts with what it had, which is not
                # speed; only what arrives from here on is.
                self._fresh = False
                self._last_t, self._last_done = now, done
            dt = now - self._last_t
            if dt >= 0.5:
                sample = max(0.0, (done - self._last_done) / dt)
                self._speed = (
                    sample
                    if self._speed is None
                    else (_ALPHA * sample + (1 - _ALPHA) * self._speed)
                )
                self._last_t, self._last_done = now, done
            eta = None
            if total and self._speed:
                eta = max(0.0, (total - done) / self._speed)
            self._snapshot = Progress(self._phase, done, total, self._speed, eta, *self._part)

    @property
    def snapshot(self) -> Progress | None:
        with self._lock:
            return self._snapshot


def handed_over(tracker: ProgressTracker) -> bool:
    """Whether the whole file went to the connection: from then on Telegram may have it."""
    progress = tracker.snapshot
    return (
        progress is not None
        and progress.phase == "upload"
        and bool(progress.total)
        and progress.done >= (progress.total or 0)
    )


async def tick(tracker: ProgressTracker, asking: Callable[[], bool], events: EventSink) -> None:
    """Turns the transfer's progress into an event once a second, when it changed (not while
    the job asks the user a question)."""
    last = None
    while True:
        await asyncio.sleep(PROGRESS_TICK_S)
        snapshot = tracker.snapshot
        if snapshot is None or snapshot == last or asking():
            continue
        last = snapshot
        events.emit(snapshot)
