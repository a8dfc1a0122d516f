"""How one run of a job ended: plain values, recorded before anyone is told.

A job that delivered several files (a split file, a playlist) has one SentFile each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.model.failures import FailureReason, JobError


@dataclass(frozen=True, slots=True)
class SentFile:
    route: str  # "botapi", "mtproto", or "cache" for a resend by file_id
    size: int  # bytes uploaded; 0 for a resend by file_id
    # False: the file went out and Telegram's answer was lost. It is most likely in the chat
    # and is never sent a second time; the user is asked to check.
    confirmed: bool = True


@dataclass(frozen=True, slots=True)
class Delivered:
    files: tuple[SentFile, ...]
    more: int = 0  # other videos on the page, not sent: say so
    failed: tuple[ItemFailure, ...] = ()  # a playlist's items that did not go

    @property
    def confirmed(self) -> bool:
        return all(f.confirmed for f in self.files)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True, slots=True)
class Failed:
    """Why the job failed, with what its message needs (sizes in bytes, an HTTP status)."""

    reason: FailureReason
    detail: str = ""
    size: int | None = None
    limit: int | None = None
    status: int | None = None

    @classmethod
    def of(cls, error: JobError) -> Failed:
        def whole(key: str) -> int | None:
            value = error.params.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return cls(error.reason, error.detail, whole("size"), whole("limit"), whole("status"))


@dataclass(frozen=True, slots=True)
class Cancelled:
    """Stopped by the user (Cancel, /cancel, a ban). `replaced`: by another format for the same
    link, which a job of its own fetches (its status message goes: the new one speaks)."""

    replaced: bool = False


@dataclass(frozen=True, slots=True)
class Interrupted:
    """Stopped by a restart: the job waits in the database and runs again on the next start."""


@dataclass(frozen=True, slots=True)
class Parked:
    """Refused by the site for now (`failure`): the job waits in the database, keeps its place
    in the user's limits, and is tried again at `retry_at` (PARK_RETRY_HOURS)."""

    failure: Failed
    since: dt.datetime
    retry_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """A playlist's item that could not be sent, and why: the others went all the same."""

    index: int  # from 1
    title: str | None
    failure: Failed


Outcome = Delivered | Failed | Cancelled | Interrupted | Parked


def outcome_label(outcome: Outcome) -> str:
    """The outcome as the log and the metrics name it."""
    if isinstance(outcome, Delivered):
        return "delivered" if outcome.confirmed else "unconfirmed"
    if isinstance(outcome, Failed):
        return "failed"
    if isinstance(outcome, Cancelled):
        return "cancelled"
    if isinstance(outcome, Parked):
        return "parked"
    return "interrupted"
