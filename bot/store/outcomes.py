"""A job's way through its states; how it ended written in one transaction: its state, its
link's outcome, the file_id.

The pipeline writes this the moment it learns the outcome, before any chat message: a message
that fails, or a crash right after, cannot leave a finished job `running` (to be run again
after a restart) or its link `pending` in /history.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from bot.model.job import FormatChoice, JobState, ParkMark
from bot.store.cache import CachedFile, put_file
from bot.store.db import Database
from bot.store.links import LinkOutcome, finish_link


@dataclass(frozen=True, slots=True)
class Cached:
    """A delivered file to remember under its normalized URL and format choice."""

    url_key: str
    choice: str
    file: CachedFile


@dataclass(frozen=True, slots=True)
class Ending:
    """What a job's run decided. `link` None leaves the link as it is (a job that will run
    again); `attempts` set restores the count (a restart is not the job's fault)."""

    state: JobState
    link: LinkOutcome | None = None
    reason: str | None = None
    size: int | None = None
    title: str | None = None
    cached: Cached | None = None
    attempts: int | None = None
    parked: ParkMark | None = None  # state PARKED: the window and the next try


class OutcomeRepo:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._clock = clock

    async def started(self, job_id: int) -> None:
        """The job runs: one more attempt."""
        now = self._clock().timestamp()
        await self._db.run(lambda conn: mark_started(conn, job_id, at=now))

    async def chose(self, job_id: int, choice: FormatChoice) -> None:
        now = self._clock().timestamp()
        await self._db.run(lambda conn: write_choice(conn, job_id, choice, at=now))

    async def record(self, job_id: int, link_id: int | None, ending: Ending) -> None:
        now = self._clock().timestamp()
        await self._db.run(lambda conn: write_ending(conn, job_id, link_id, ending, at=now))


# The same writes inside a caller's transaction (bot/remote applies workers' reports with the
# position it has read them to).
_UNFINISHED = "state NOT IN ({})".format(  # the finished states, fixed values
    ", ".join(f"'{s.value}'" for s in JobState if s.finished)
)


def mark_started(
    conn: sqlite3.Connection, job_id: int, *, at: float, attempts: int | None = None
) -> None:
    """The job runs: one more attempt, or the `attempts` a queue counted (a finished job stays
    finished)."""
    if attempts is None:
        conn.execute(
            "UPDATE jobs SET state = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?",
            (JobState.RUNNING.value, at, job_id),
        )
        return
    sql = "UPDATE jobs SET state = ?, attempts = ?, updated_at = ? WHERE id = ? AND "
    conn.execute(sql + _UNFINISHED, (JobState.RUNNING.value, attempts, at, job_id))


def write_choice(
    conn: sqlite3.Connection, job_id: int, choice: FormatChoice, *, at: float
) -> None:
    conn.execute(
        "UPDATE jobs SET choice = ?, updated_at = ? WHERE id = ?", (choice.value, at, job_id)
    )


def write_ending(
    conn: sqlite3.Connection,
    job_id: int,
    link_id: int | None,
    ending: Ending,
    *,
    at: float,
    once: bool = False,
) -> bool:
    """Write how a run ended; with `once`, only over a job not yet finished (a second report
    of the same job changes nothing). Returns whether anything was written."""
    guard = " AND " + _UNFINISHED if once else ""
    if ending.attempts is None:
        sql = "UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?"
        cur = conn.execute(sql + guard, (ending.state.value, at, job_id))
    else:
        sql = "UPDATE jobs SET state = ?, attempts = ?, updated_at = ? WHERE id = ?"
        cur = conn.execute(sql + guard, (ending.state.value, ending.attempts, at, job_id))
    if once and cur.rowcount == 0:
        return False
    if ending.parked is not None:
        mark = ending.parked
        conn.execute(
            "UPDATE jobs SET parked_since = ?, retry_at = ?, park_reason = ? WHERE id = ?",
            (mark.since.timestamp(), mark.retry_at.timestamp(), mark.reason, job_id),
        )
    if link_id is not None and ending.link is not None:
        finish_link(
            conn,
            link_id,
            ending.link,
            at=at,
            reason=ending.reason,
            size=ending.size,
            title=ending.title,
        )
    if ending.cached is not None:
        cached = ending.cached
        put_file(conn, cached.url_key, cached.choice, cached.file, at=at)
    return True
