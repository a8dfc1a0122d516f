"""The file_id cache: what was delivered once is resent by file_id, not fetched again."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.model.media import MediaKind
from bot.store.db import Database
from bot.store.parts import SentPart, cached_parts, put_parts


@dataclass(frozen=True, slots=True)
class CachedFile:
    file_id: str
    kind: MediaKind
    title: str | None
    size: int | None
    more: int = 0  # other videos on the page, not sent: the user is told again
    # A file delivered in parts: every part, in order (the row's file_id is the first's).
    parts: tuple[SentPart, ...] = ()


def put_file(
    conn: sqlite3.Connection, url_key: str, choice: str, entry: CachedFile, *, at: float
) -> None:
    """Remember a delivered file's file_id, inside the caller's transaction (the job's
    outcome is written with it: store/outcomes.py)."""
    conn.execute(
        "INSERT OR REPLACE INTO file_cache (url_key, choice, file_id, kind, title, size,"
        " more, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            url_key,
            choice,
            entry.file_id,
            entry.kind.value,
            entry.title,
            entry.size,
            entry.more,
            at,
        ),
    )
    put_parts(conn, url_key, choice, entry.parts)


class CacheRepo:
    """Looks files up and drops stale ones; files are added with a job's outcome."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, url_key: str, choice: str) -> CachedFile | None:
        def query(conn: sqlite3.Connection) -> CachedFile | None:
            row = conn.execute(
                "SELECT * FROM file_cache WHERE url_key = ? AND choice = ?", (url_key, choice)
            ).fetchone()
            if row is None:
                return None
            return CachedFile(
                row["file_id"],
                MediaKind(row["kind"]),
                row["title"],
                row["size"],
                row["more"],
                cached_parts(conn, url_key, choice),
            )

        return await self._db.run(query)

    async def drop(self, url_key: str, choice: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            for table in ("file_cache", "file_cache_parts"):
                conn.execute(
                    f"DELETE FROM {table} WHERE url_key = ? AND choice = ?",  # noqa: S608 - names above
                    (url_key, choice),
                )

        await self._db.run(delete)
