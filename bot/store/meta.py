"""Small facts the daemon keeps between runs (the daily job's last run), as key and text."""

from __future__ import annotations

import sqlite3

from bot.store.db import Database


def get_value(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row["value"])


def set_value(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Inside the caller's transaction (bot/remote keeps its read position so)."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


class MetaRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        return await self._db.read(lambda conn: get_value(conn, key))

    async def set(self, key: str, value: str) -> None:
        await self._db.run(lambda conn: set_value(conn, key, value))
