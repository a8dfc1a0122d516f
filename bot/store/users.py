"""Users the bot has seen: names for admin notices, language override, ban flag, /settings."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.model.job import FormatChoice
from bot.store.db import Database


@dataclass(frozen=True, slots=True)
class UserSettings:
    """What a user chose in /settings (the language is `UserRecord.language_override`)."""

    default_format: FormatChoice | None = None  # None: asked for each link
    video_as_file: bool = False  # videos go as documents
    more_note: bool = True  # "only the first video was sent" is said


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: int
    first_name: str
    username: str | None
    language_code: str | None
    language_override: str | None
    banned: bool
    last_seen: dt.datetime
    settings: UserSettings = UserSettings()


def _format(value: str | None) -> FormatChoice | None:
    known = {c.value for c in (FormatChoice.BEST, FormatChoice.SMALL, FormatChoice.AUDIO)}
    return FormatChoice(value) if value in known else None


def _user(row: sqlite3.Row) -> UserRecord:
    return UserRecord(
        user_id=row["user_id"],
        first_name=row["first_name"],
        username=row["username"],
        language_code=row["language_code"],
        language_override=row["language_override"],
        banned=bool(row["banned"]),
        last_seen=dt.datetime.fromtimestamp(row["last_seen"], dt.UTC),
        settings=UserSettings(
            _format(row["default_format"]), bool(row["video_as_file"]), bool(row["more_note"])
        ),
    )


class UserRepo:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._clock = clock

    async def touch(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> UserRecord:
        """Record that the user was seen now; returns the stored record."""
        now = self._clock().timestamp()

        def upsert(conn: sqlite3.Connection) -> UserRecord:
            conn.execute(
                "INSERT INTO users (user_id, first_name, username, language_code, first_seen,"
                " last_seen) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET"
                " first_name = excluded.first_name, username = excluded.username,"
                " language_code = excluded.language_code, last_seen = excluded.last_seen",
                (user_id, first_name, username, language_code, now, now),
            )
            row = conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
            return _user(row)

        return await self._db.run(upsert)

    async def get(self, user_id: int) -> UserRecord | None:
        def query(conn: sqlite3.Connection) -> UserRecord | None:
            row = conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
            return None if row is None else _user(row)

        return await self._db.read(query)

    async def set_language(self, user_id: int, language: str | None) -> None:
        await self._db.run(
            lambda conn: conn.execute(
                "UPDATE users SET language_override = ? WHERE user_id = ?", (language, user_id)
            )
        )

    async def save_settings(self, user_id: int, settings: UserSettings) -> None:
        """Keep the user's /settings (their row exists: they were seen by this update)."""
        fmt = settings.default_format.value if settings.default_format is not None else None
        await self._db.run(
            lambda conn: conn.execute(
                "UPDATE users SET default_format = ?, video_as_file = ?, more_note = ?"
                " WHERE user_id = ?",
                (fmt, int(settings.video_as_file), int(settings.more_note), user_id),
            )
        )

    async def set_banned(self, user_id: int, banned: bool) -> bool:
        """Ban or unban; a user never seen gets a row, so a ban may come before the first visit."""
        now = self._clock().timestamp()

        def update(conn: sqlite3.Connection) -> bool:
            conn.execute(
                "INSERT INTO users (user_id, first_seen, last_seen, banned) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET banned = excluded.banned",
                (user_id, now, now, int(banned)),
            )
            return True

        return await self._db.run(update)

    async def many(self, user_ids: Iterable[int]) -> dict[int, UserRecord]:
        """The stored records of these users (unknown ids are left out)."""
        ids = sorted(set(user_ids))

        def query(conn: sqlite3.Connection) -> dict[int, UserRecord]:
            found: dict[int, UserRecord] = {}
            for start in range(0, len(ids), 500):  # SQLite's bound on parameters per query
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT * FROM users WHERE user_id IN ({marks})",  # noqa: S608 - only ?s
                    chunk,
                ).fetchall()
                found.update((r["user_id"], _user(r)) for r in rows)
            return found

        return await self._db.read(query)

    async def recent(self, limit: int) -> list[UserRecord]:
        """The users seen most recently, newest first."""

        def query(conn: sqlite3.Connection) -> list[UserRecord]:
            rows = conn.execute(
                "SELECT * FROM users ORDER BY last_seen DESC, user_id LIMIT ?", (limit,)
            ).fetchall()
            return [_user(r) for r in rows]

        return await self._db.read(query)
