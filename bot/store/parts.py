"""The parts of a file delivered in several: a job's ledger of what is already in the chat.

A part is written the moment Telegram has it (or may have it), before the next one is cut: a
restart resumes after the last part written and never sends one twice. A part whose answer
was lost has no file_id: it is most likely in the chat, and is not sent again.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from bot.model.media import MediaKind
from bot.store.db import Database


@dataclass(frozen=True, slots=True)
class SentPart:
    """One part in the chat: `index` of `count` (from 1), its time range for media."""

    index: int
    count: int
    file_id: str | None  # None: sent, but Telegram's answer was lost
    kind: MediaKind
    size: int
    start: float | None = None  # seconds into the source, for video and audio
    end: float | None = None

    @property
    def confirmed(self) -> bool:
        return self.file_id is not None


def _part(row: sqlite3.Row, count: int) -> SentPart:
    return SentPart(
        row["part"],
        count,
        row["file_id"],
        MediaKind(row["kind"]),
        row["size"],
        row["start_s"],
        row["end_s"],
    )


class PartRepo:
    """Reads and writes job_parts: which parts of a job's file are in the chat."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._clock = clock

    async def sent(self, job_id: int) -> dict[int, SentPart]:
        """The parts already delivered (or maybe delivered), by index."""

        def query(conn: sqlite3.Connection) -> dict[int, SentPart]:
            rows = conn.execute(
                "SELECT * FROM job_parts WHERE job_id = ? ORDER BY part", (job_id,)
            ).fetchall()
            return {row["part"]: _part(row, row["parts"]) for row in rows}

        return await self._db.read(query)

    async def record(self, job_id: int, part: SentPart) -> None:
        now = self._clock().timestamp()
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO job_parts (job_id, part, parts, file_id, kind, size,"
                " start_s, end_s, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    part.index,
                    part.count,
                    part.file_id,
                    part.kind.value,
                    part.size,
                    part.start,
                    part.end,
                    now,
                ),
            )
        )


def drop_parts(conn: sqlite3.Connection, url_key: str, choice: str) -> None:
    conn.execute(
        "DELETE FROM file_cache_parts WHERE url_key = ? AND choice = ?", (url_key, choice)
    )


def put_parts(
    conn: sqlite3.Connection, url_key: str, choice: str, parts: tuple[SentPart, ...]
) -> None:
    """Remember every part of a cached file, inside the caller's transaction (cache.py)."""
    drop_parts(conn, url_key, choice)
    conn.executemany(
        "INSERT INTO file_cache_parts (url_key, choice, part, file_id, kind, size, start_s,"
        " end_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (url_key, choice, p.index, p.file_id, p.kind.value, p.size, p.start, p.end)
            for p in parts
        ],
    )


def cached_parts(conn: sqlite3.Connection, url_key: str, choice: str) -> tuple[SentPart, ...]:
    rows = conn.execute(
        "SELECT * FROM file_cache_parts WHERE url_key = ? AND choice = ? ORDER BY part",
        (url_key, choice),
    ).fetchall()
    return tuple(_part(row, len(rows)) for row in rows)
