"""Values of the job system: states, format choices, a job as stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class FormatChoice(StrEnum):
    """What the user wants from a media page."""

    AUTO = "auto"  # not chosen yet: ask, then fall back to BEST
    BEST = "best"
    SMALL = "small"
    AUDIO = "audio"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    user_id: int
    chat_id: int
    url: str
    choice: FormatChoice
    state: JobState
    language: str
    status_message_id: int | None
    link_id: int | None
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a transfer, written by whichever thread moves the bytes."""

    phase: str  # "download" or "upload"
    done: int
    total: int | None
    speed: float | None  # bytes per second
    eta: float | None  # seconds
