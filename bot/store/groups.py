"""The groups the bot was added to: who added it (an admin's groups are served under
GROUPS=allowed) and whether every link posted there is fetched (/autodl)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from bot.store.db import Database


@dataclass(frozen=True, slots=True)
class GroupRecord:
    chat_id: int
    added_by: int | None  # who added the bot (None: known only from ALLOWED_CHATS or /autodl)
    autodl: bool = False


def _group(row: sqlite3.Row) -> GroupRecord:
    return GroupRecord(row["chat_id"], row["added_by"], bool(row["autodl"]))


class GroupRepo:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._clock = clock

    async def get(self, chat_id: int) -> GroupRecord | None:
        def query(conn: sqlite3.Connection) -> GroupRecord | None:
            row = conn.execute(
                "SELECT * FROM chat_groups WHERE chat_id = ?", (chat_id,)
            ).fetchone()
            return None if row is None else _group(row)

        return await self._db.read(query)

    async def added(self, chat_id: int, by: int) -> None:
        """The bot was added to the group by `by` (a new addition starts with /autodl off)."""
        now = self._clock().timestamp()
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO chat_groups (chat_id, added_by, added_at) VALUES (?, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET added_by = excluded.added_by,"
                " added_at = excluded.added_at, autodl = 0",
                (chat_id, by, now),
            )
        )

    async def removed(self, chat_id: int) -> None:
        """The bot left or was removed: whoever adds it again decides anew."""
        await self._db.run(
            lambda conn: conn.execute("DELETE FROM chat_groups WHERE chat_id = ?", (chat_id,))
        )

    async def set_autodl(self, chat_id: int, on: bool) -> None:
        now = self._clock().timestamp()
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO chat_groups (chat_id, added_at, autodl) VALUES (?, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET autodl = excluded.autodl",
                (chat_id, now, int(on)),
            )
        )

    async def migrated(self, old: int, new: int) -> None:
        """A group became a supergroup (topics switched on, say): its id changed."""

        def move(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM chat_groups WHERE chat_id = ?", (new,))
            conn.execute("UPDATE chat_groups SET chat_id = ? WHERE chat_id = ?", (new, old))

        await self._db.run(move)
