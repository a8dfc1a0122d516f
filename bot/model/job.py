"""The job model: a job as stored, its states, the format a user chooses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PARKED = "parked"  # refused by the site for now: tried again at its retry_at
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
    ALL = "all"  # every item of a playlist (the best video of each), sent as albums
    PDF = "pdf"  # the page itself, printed by a browser (/pdf); chosen when the job is made


@dataclass(frozen=True, slots=True)
class JobPrefs:
    """How the user who sent the link wants its files (their /settings, taken with the job)."""

    as_file: bool = False  # videos go as documents
    more_note: bool = True  # say so when a page had more videos than the one sent


DEFAULT_PREFS = JobPrefs()


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
    reply_to: int | None = None  # the user's message with the link: what the file answers
    parked_since: dt.datetime | None = None  # first refused by the site for now (the window)
    retry_at: dt.datetime | None = None  # parked: when it is tried again
    thread_id: int | None = None  # a forum topic: the link's message_thread_id, files go there
    prefs: JobPrefs = DEFAULT_PREFS

    @property
    def answers(self) -> tuple[int | None, int | None]:
        """Where its files go in the chat: the message they reply to, and the forum topic."""
        return self.reply_to, self.thread_id


@dataclass(frozen=True, slots=True)
class ParkMark:
    """A job parked: the site refused it for now (`reason`), tried again at `retry_at`; the
    window of PARK_RETRY_HOURS counts from `since`."""

    since: dt.datetime
    retry_at: dt.datetime
    reason: str
