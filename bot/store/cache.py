"""The file_id cache: what was delivered once is resent by file_id, not fetched again."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from bot.store.db import Database
from bot.upload.types import MediaKind


@dataclass(frozen=True, slots=True)
class CachedFile:
    file_id: str
    kind: MediaKind
    title: str | None
    size: int | None


def put_file(
    conn: sqlite3.Connection, url_key: str, choice: str, entry: CachedFile, *, at: float
) -> None:
    """Remember a delivered file's file_id, inside the caller's transaction."""
    conn.execute(
        "INSERT OR REPLACE INTO file_cache (url_key, choice, file_id, kind, title, size,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (url_key, choice, entry.file_id, entry.kind.value, entry.title, entry.size, at),
    )


class CacheRepo:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._clock = clock

    async def get(self, url_key: str, choice: str) -> CachedFile | None:
        def query(conn: sqlite3.Connection) -> CachedFile | None:
            row = conn.execute(
                "SELECT * FROM file_cache WHERE url_key = ? AND choice = ?", (url_key, choice)
            ).fetchone()
            if row is None:
                return None
            return CachedFile(row["file_id"], MediaKind(row["kind"]), row["title"], row["size"])

        return await self._db.run(query)

    async def put(self, url_key: str, choice: str, entry: CachedFile) -> None:
        now = self._clock().timestamp()
        await self._db.run(lambda conn: put_file(conn, url_key, choice, entry, at=now))

    async def drop(self, url_key: str, choice: str) -> None:
        await self._db.run(
            lambda conn: conn.execute(
                "DELETE FROM file_cache WHERE url_key = ? AND choice = ?", (url_key, choice)
            )
        )
