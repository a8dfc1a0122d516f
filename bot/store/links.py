"""The link history: every link a user sent and how it ended."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.store.db import Database


class LinkOutcome(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


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


def _record(row: sqlite3.Row) -> LinkRecord:
    return LinkRecord(
        id=row["id"],
        user_id=row["user_id"],
        url=row["url"],
        created_at=dt.datetime.fromtimestamp(row["created_at"], dt.UTC),
        outcome=LinkOutcome(row["outcome"]),
        reason=row["reason"],
        size=row["size"],
        title=row["title"],
    )


class LinkRepo:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._clock = clock

    async def add(self, user_id: int, url: str) -> int:
        now = self._clock().timestamp()

        def insert(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO links (user_id, url, created_at) VALUES (?, ?, ?)",
                (user_id, url, now),
            )
            return int(cur.lastrowid or 0)

        return await self._db.run(insert)

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
            lambda conn: conn.execute(
                "UPDATE links SET outcome = ?, reason = ?, size = ?, title = ?, finished_at = ?"
                " WHERE id = ?",
                (outcome.value, reason, size, title, now, link_id),
            )
        )

    async def history(self, user_id: int, *, limit: int, offset: int = 0) -> list[LinkRecord]:
        def query(conn: sqlite3.Connection) -> list[LinkRecord]:
            rows = conn.execute(
                "SELECT * FROM links WHERE user_id = ? ORDER BY created_at DESC, id DESC"
                " LIMIT ? OFFSET ?",
                (user_id, limit, offset),
            ).fetchall()
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
