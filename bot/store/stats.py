"""Numbers for the admin panel: users, activity, downloads, failures, bytes delivered."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.store.db import Database
from bot.store.links import PURGED_BYTES, PURGED_DELIVERED, LinkOutcome


@dataclass(frozen=True, slots=True)
class Stats:
    users: int
    active_day: int
    active_week: int
    banned: int
    delivered_today: int
    delivered_total: int  # purged links included
    bytes_delivered: int  # purged links included
    failures: tuple[tuple[str, int], ...]  # (reason, count), most frequent first; kept links only


class StatsRepo:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime], zone: ZoneInfo) -> None:
        self._db = db
        self._clock = clock
        self._zone = zone

    async def collect(self) -> Stats:
        now = self._clock()
        midnight = now.astimezone(self._zone).replace(hour=0, minute=0, second=0, microsecond=0)
        day = (now - dt.timedelta(days=1)).timestamp()
        week = (now - dt.timedelta(days=7)).timestamp()
        delivered = LinkOutcome.DELIVERED.value

        def query(conn: sqlite3.Connection) -> Stats:
            def one(sql: str, *args: object) -> int:
                return int(conn.execute(sql, args).fetchone()[0] or 0)

            meta = dict(
                conn.execute(
                    "SELECT key, CAST(value AS INTEGER) FROM meta WHERE key IN (?, ?)",
                    (PURGED_DELIVERED, PURGED_BYTES),
                ).fetchall()
            )
            failures = conn.execute(
                "SELECT COALESCE(reason, '?'), COUNT(*) AS n FROM links WHERE outcome = ?"
                " GROUP BY 1 ORDER BY n DESC, 1",
                (LinkOutcome.FAILED.value,),
            ).fetchall()
            return Stats(
                users=one("SELECT COUNT(*) FROM users"),
                active_day=one("SELECT COUNT(*) FROM users WHERE last_seen >= ?", day),
                active_week=one("SELECT COUNT(*) FROM users WHERE last_seen >= ?", week),
                banned=one("SELECT COUNT(*) FROM users WHERE banned = 1"),
                delivered_today=one(
                    "SELECT COUNT(*) FROM links WHERE outcome = ? AND finished_at >= ?",
                    delivered,
                    midnight.timestamp(),
                ),
                delivered_total=one("SELECT COUNT(*) FROM links WHERE outcome = ?", delivered)
                + int(meta.get(PURGED_DELIVERED, 0)),
                bytes_delivered=one(
                    "SELECT COALESCE(SUM(size), 0) FROM links WHERE outcome = ?", delivered
                )
                + int(meta.get(PURGED_BYTES, 0)),
                failures=tuple((str(r[0]), int(r[1])) for r in failures),
            )

        return await self._db.run(query)
