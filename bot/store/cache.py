"""The file_id cache: what was delivered once is resent by file_id, not fetched again."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from bot.model.media import MediaKind
from bot.store import purge
from bot.store.batches import in_batches
from bot.store.db import Database
from bot.store.parts import SentPart, cached_parts, drop_parts, put_parts


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


def drop_file(conn: sqlite3.Connection, url_key: str, choice: str) -> None:
    """Forget a cached file and its parts, inside the caller's transaction."""
    conn.execute("DELETE FROM file_cache WHERE url_key = ? AND choice = ?", (url_key, choice))
    drop_parts(conn, url_key, choice)


def _entry(conn: sqlite3.Connection, row: sqlite3.Row) -> CachedFile:
    url_key, choice = row["url_key"], row["choice"]
    return CachedFile(
        row["file_id"],
        MediaKind(row["kind"]),
        row["title"],
        row["size"],
        row["more"],
        cached_parts(conn, url_key, choice),
    )


class CacheRepo:
    """Looks files up and drops stale ones; files are added with a job's outcome."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, url_key: str, choice: str) -> CachedFile | None:
        def query(conn: sqlite3.Connection) -> CachedFile | None:
            row = conn.execute(
                "SELECT * FROM file_cache WHERE url_key = ? AND choice = ?", (url_key, choice)
            ).fetchone()
            return None if row is None else _entry(conn, row)

        return await self._db.read(query)

    async def of_url(self, url_key: str) -> dict[str, CachedFile]:
        """Every format of one link that Telegram has, by choice."""

        def query(conn: sqlite3.Connection) -> dict[str, CachedFile]:
            rows = conn.execute("SELECT * FROM file_cache WHERE url_key = ?", (url_key,))
            return {row["choice"]: _entry(conn, row) for row in rows}

        return await self._db.read(query)

    async def drop(self, url_key: str, choice: str) -> None:
        await self._db.run(lambda conn: drop_file(conn, url_key, choice))

    async def purge(self, created_before: dt.datetime) -> int:
        """Forget files first delivered before the cut (as their links are), a batch at a
        time: the same link again is fetched anew."""
        cut = created_before.timestamp()
        return await in_batches(
            self._db, lambda conn, limit: purge.cached_files(conn, cut, limit), name="cache_purge"
        )
