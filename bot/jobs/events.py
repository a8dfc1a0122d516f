"""What a job tells while it runs, for whoever shows it: plain values that can cross a process.

The engine and the pipeline emit these into an EventSink and never wait for them to be shown:
the presenter (bot/presenter) turns them into edits of the job's status message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Queued:
    """Waiting for a worker: `position` 1 is next."""

    position: int


@dataclass(frozen=True, slots=True)
class Resumed:
    """Taken up again after a restart; waiting for a worker."""


@dataclass(frozen=True, slots=True)
class Started:
    """A worker took the job."""


@dataclass(frozen=True, slots=True)
class NeedChoice:
    """A media page was found: the user may pick a format within `seconds`."""

    title: str | None
    estimated_size: int | None
    seconds: float
    items: int = 1  # a playlist's items (up to MAX_PLAYLIST_ITEMS): "all N" is offered


@dataclass(frozen=True, slots=True)
class Chosen:
    """The format is settled (picked, or the default after the wait); fetching begins.
    `preset`: it was settled before the page was seen (the user's default format)."""

    choice: str
    preset: bool = False


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a transfer: `phase` is "download" or "upload"."""

    phase: str
    done: int
    total: int | None
    speed: float | None  # bytes per second
    eta: float | None  # seconds
    part: int = 0  # the part being sent, of `parts`, for a file sent in parts (else 0)
    parts: int = 0
    unit: str = "part"  # "part" of a file, or "item" of a playlist


@dataclass(frozen=True, slots=True)
class Delivering:
    """The file (part `part` of `parts`) is being handed to Telegram."""

    part: int = 1
    parts: int = 1
    unit: str = "part"  # "part" of a file, or "item" of a playlist


@dataclass(frozen=True, slots=True)
class RetryLater:
    """The site refused the job for now (`reason`); it is tried again until `hours` have passed
    since the first refusal."""

    reason: str
    hours: float


JobEvent = Queued | Resumed | Started | NeedChoice | Chosen | Progress | Delivering | RetryLater


class EventSink(Protocol):
    def emit(self, event: JobEvent) -> None:
        """Take an event; never blocks (showing it is the sink's own business)."""
        ...
