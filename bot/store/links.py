"""The link history: every link a user sent and how it ended."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.model.job import FormatChoice
from bot.store.db import Database

# Running totals of purged links, so the totals of /admin outlive the retention period.
# Before issue 15 only delivered links (and their bytes) were added up: received, failed and
# cancelled count from then on (store/stats.py makes "received" at least the sum of the rest).
PURGED_RECEIVED = "links_purged_received"
PURGED_DELIVERED = "links_purged_delivered"  # unconfirmed deliveries included
PURGED_FAILED = "links_purged_failed"
PURGED_CANCELLED = "links_purged_cancelled"
PURGED_BYTES = "links_purged_bytes"


class LinkOutcome(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Sent, but Telegram's answer was lost: most likely in the chat; not sent a second time.
    UNCONFIRMED = "unconfirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Outcomes that count as delivered: an unconfirmed file is most likely in the chat.
DELIVERED = (LinkOutcome.DELIVERED.value, LinkOutcome.UNCONFIRMED.value)
ENDED_BADLY = (LinkOutcome.FAILED.value, LinkOutcome.CANCELLED.value)

# A page of history, with each link's files in the chat and its job's choice: one query. The
# page is cut first, so the lookups run for its rows only; jobs.link_id has no index, but
# finished jobs are purged with the links. A link has one job (the newest, should it have more).
_HISTORY = (
    "SELECT l.*, j.choice AS choice,"
    " (SELECT COUNT(*) FROM job_parts p WHERE p.job_id = j.id) AS files"
    " FROM (SELECT * FROM links WHERE user_id = ? ORDER BY created_at DESC, id DESC"
    " LIMIT ? OFFSET ?) l"
    " LEFT JOIN jobs j ON j.id = (SELECT MAX(id) FROM jobs WHERE link_id = l.id)"
    " ORDER BY l.created_at DESC, l.id DESC"
)


@dataclass(frozen=True, slots=True)
class LinkRecord:
    id: int
    user_id: int
    url: str
    created_at: dt.datetime
    outcome: LinkOutcome
    reason: str | None
    size: int | None
    title: str | None
    # How many files its job put in the chat (job_parts: a part or a playlist's item a row),
    # and whether they were a playlist's items; 0 when it went as one file, or its job is gone.
    files: int = 0
    playlist: bool = False


def _record(row: sqlite3.Row) -> LinkRecord:
    keys = row.keys()
    return LinkRecord(
        id=row["id"],
        user_id=row["user_id"],
        url=row["url"],
        created_at=dt.datetime.fromtimestamp(row["created_at"], dt.UTC),
        outcome=LinkOutcome(row["outcome"]),
        reason=row["reason"],
        size=row["size"],
        title=row["title"],
        files=row["files"] if "files" in keys else 0,
        playlist=row["choice"] == FormatChoice.ALL if "choice" in keys else False,
    )


def insert_link(conn: sqlite3.Connection, user_id: int, url: str, *, at: float) -> int:
    """A user's new link, inside the caller's transaction; returns its id."""
    cur = conn.execute(
        "INSERT INTO links (user_id, url, created_at) VALUES (?, ?, ?)", (user_id, url, at)
    )
    return int(cur.lastrowid or 0)


def finish_link(
    conn: sqlite3.Connection,
    link_id: int,
    outcome: LinkOutcome,
    *,
    at: float,
    reason: str | None = None,
    size: int | None = None,
    title: str | None = None,
) -> None:
    """Record how a link ended, inside the caller's transaction."""
    conn.execute(
        "UPDATE links SET outcome = ?, reason = ?, size = ?, title = ?, finished_at = ?"
        " WHERE id = ?",
        (outcome.value, reason, size, title, at, link_id),
    )


class LinkRepo:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._clock = clock

    async def add(self, user_id: int, url: str) -> int:
        now = self._clock().timestamp()

        return await self._db.run(lambda conn: insert_link(conn, user_id, url, at=now))

    async def finish(
        self,
        link_id: int,
        outcome: LinkOutcome,
        *,
        reason: str | None = None,
        size: int | None = None,
        title: str | None = None,
    ) -> None:
        now = self._clock().timestamp()
        await self._db.run(
            lambda conn: finish_link(
                conn, link_id, outcome, at=now, reason=reason, size=size, title=title
            )
        )

    async def url_of(self, link_id: int, user_id: int) -> str | None:
        """The URL of one of this user's links; None when it is not theirs, or is gone."""
        row = await self._db.run(
            lambda conn: conn.execute(
                "SELECT url FROM links WHERE id = ? AND user_id = ?", (link_id, user_id)
            ).fetchone()
        )
        return None if row is None else str(row["url"])

    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[LinkRecord]:
        def query(conn: sqlite3.Connection) -> list[LinkRecord]:
            rows = conn.execute(_HISTORY, (user_id, limit, offset)).fetchall()
            return [_record(r) for r in rows]

        return await self._db.run(query)

    async def count(self, user_id: int) -> int:
        return await self._db.run(
            lambda conn: int(
                conn.execute(
                    "SELECT COUNT(*) FROM links WHERE user_id = ?", (user_id,)
                ).fetchone()[0]
            )
        )

    async def expiring(
        self, created_before: dt.datetime, *, include_noticed: bool = False
    ) -> list[LinkRecord]:
        """Links created before `created_before` (so purged soon), by user then age."""
        noticed = "" if include_noticed else " AND noticed_at IS NULL"

        def query(conn: sqlite3.Connection) -> list[LinkRecord]:
            rows = conn.execute(
                f"SELECT * FROM links WHERE created_at < ?{noticed}"  # noqa: S608 - fixed text
                " ORDER BY user_id, created_at, id",
                (created_before.timestamp(),),
            ).fetchall()
            return [_record(r) for r in rows]

        return await self._db.run(query)

    async def mark_noticed(self, ids: Sequence[int]) -> None:
        now = self._clock().timestamp()
        await self._db.run(
            lambda conn: conn.executemany(
                "UPDATE links SET noticed_at = ? WHERE id = ?", [(now, i) for i in ids]
            )
        )

    async def purge(self, created_before: dt.datetime) -> int:
        """Delete links created before the cut-off, adding them to the running totals."""
        cut = created_before.timestamp()

        def delete(conn: sqlite3.Connection) -> int:
            received, delivered, size, failed, cancelled = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(outcome IN (?, ?)), 0),"
                " COALESCE(SUM(CASE WHEN outcome IN (?, ?) THEN size END), 0),"
                " COALESCE(SUM(outcome = ?), 0), COALESCE(SUM(outcome = ?), 0)"
                " FROM links WHERE created_at < ?",
                (*DELIVERED, *DELIVERED, *ENDED_BADLY, cut),
            ).fetchone()
            totals = (
                (PURGED_RECEIVED, received),
                (PURGED_DELIVERED, delivered),
                (PURGED_FAILED, failed),
                (PURGED_CANCELLED, cancelled),
                (PURGED_BYTES, size),
            )
            for key, value in totals:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                    " SET value = CAST(meta.value AS INTEGER) + CAST(excluded.value AS INTEGER)",
                    (key, str(int(value))),
                )
            return conn.execute("DELETE FROM links WHERE created_at < ?", (cut,)).rowcount

        return await self._db.run(delete)

    async def forget(self, user_id: int) -> int:
        """Erase every link of one user; returns how many."""
        return await self._db.run(
            lambda conn: conn.execute("DELETE FROM links WHERE user_id = ?", (user_id,)).rowcount
        )
