"""The link history: every link a user sent and how it ended."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.model.job import FormatChoice
from bot.store import purge, tally
from bot.store.batches import in_batches
from bot.store.db import Database
from bot.store.tally import Tallied


class LinkOutcome(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Sent, but Telegram's answer was lost: most likely in the chat; not sent a second time.
    UNCONFIRMED = "unconfirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"


NOTICED_BATCH = 500
TALLY_KEPT = dt.timedelta(days=8)  # /admin's "7 days" reads back this far at most

# A page of history, with each link's files in the chat and its job's choice: one query. The
# page is cut first (links_user), so the lookups run for its rows only (jobs_link, job_parts'
# key). A link has one job (the newest, should it have more).
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
    tally.count(conn, Tallied.RECEIVED, at)
    return int(cur.lastrowid or 0)


def drop_link(conn: sqlite3.Connection, link_id: int) -> None:
    """Forget a link as if it had never been sent (its job was refused), inside the caller's
    transaction: it is not counted as received either."""
    row = conn.execute(
        "SELECT created_at, outcome, reason, size, finished_at FROM links WHERE id = ?",
        (link_id,),
    ).fetchone()
    if row is None:
        return
    conn.execute("DELETE FROM links WHERE id = ?", (link_id,))
    tally.count(conn, Tallied.RECEIVED, row["created_at"], n=-1)
    tally.count_ending(
        conn, row["outcome"], row["finished_at"], reason=row["reason"], size=row["size"], n=-1
    )


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
    """Record how a link ended, and count it, inside the caller's transaction (an ending
    written over another takes the other's count back)."""
    before = conn.execute(
        "SELECT outcome, reason, size, finished_at FROM links WHERE id = ?", (link_id,)
    ).fetchone()
    conn.execute(
        "UPDATE links SET outcome = ?, reason = ?, size = ?, title = ?, finished_at = ?"
        " WHERE id = ?",
        (outcome.value, reason, size, title, at, link_id),
    )
    if before is not None:
        tally.count_ending(
            conn,
            before["outcome"],
            before["finished_at"],
            reason=before["reason"],
            size=before["size"],
            n=-1,
        )
    tally.count_ending(conn, outcome.value, at, reason=reason, size=size)


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

        return await self._db.read(query)

    async def count(self, user_id: int) -> int:
        return await self._db.read(
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
                # +user_id: sorting the links due beats walking links_user through every link
                # (what SQLite, with no statistics, would otherwise choose).
                f"SELECT * FROM links WHERE created_at < ?{noticed}"  # noqa: S608 - fixed text
                " ORDER BY +user_id, created_at, id",
                (created_before.timestamp(),),
            ).fetchall()
            return [_record(r) for r in rows]

        return await self._db.read(query)

    async def mark_noticed(self, ids: Sequence[int]) -> None:
        """In transactions of NOTICED_BATCH links: a day of a busy bot's links is thousands."""
        now = self._clock().timestamp()

        def mark(rows: list[tuple[float, int]]) -> Callable[[sqlite3.Connection], object]:
            return lambda conn: conn.executemany(
                "UPDATE links SET noticed_at = ? WHERE id = ?", rows
            )

        for first in range(0, len(ids), NOTICED_BATCH):
            await self._db.run(mark([(now, i) for i in ids[first : first + NOTICED_BATCH]]))

    async def purge(self, created_before: dt.datetime) -> int:
        """Delete links created before the cut, a batch at a time (their counts stay)."""
        cut = created_before.timestamp()
        removed = await in_batches(
            self._db, lambda conn, limit: purge.expired_links(conn, cut, limit), name="links_purge"
        )
        # The quarter hours of counts the figures still read: 7 days, and the retention.
        keep_from = min(cut, (self._clock() - TALLY_KEPT).timestamp())
        await in_batches(
            self._db, lambda conn, limit: tally.prune(conn, keep_from, limit), name="tally_prune"
        )
        return removed

    async def forget(self, user_id: int) -> int:
        """Erase every link of one user, a batch at a time; returns how many."""
        return await in_batches(
            self._db, lambda conn, limit: purge.links_of(conn, user_id, limit), name="links_forget"
        )
