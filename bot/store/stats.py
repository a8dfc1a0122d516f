"""Numbers for the admin panel: users and activity; links received, delivered, failed and
cancelled today, in 7 days and in total; bytes delivered; failures by reason."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.store.db import Database
from bot.store.links import (
    DELIVERED,
    PURGED_BYTES,
    PURGED_CANCELLED,
    PURGED_DELIVERED,
    PURGED_FAILED,
    PURGED_RECEIVED,
    LinkOutcome,
)

_PURGED = (PURGED_RECEIVED, PURGED_DELIVERED, PURGED_FAILED, PURGED_CANCELLED, PURGED_BYTES)


@dataclass(frozen=True, slots=True)
class Counts:
    """One count over three spans: since midnight (TZ), the last 7 days, and ever."""

    today: int
    week: int
    total: int  # purged links included


@dataclass(frozen=True, slots=True)
class Stats:
    users: int
    active_day: int
    active_week: int
    banned: int
    received: Counts  # links users sent that became downloads (by when they were sent)
    delivered: Counts  # by when they ended; unconfirmed deliveries included
    failed: Counts
    cancelled: Counts
    in_progress: int
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
        today = midnight.timestamp()
        day = (now - dt.timedelta(days=1)).timestamp()
        week = (now - dt.timedelta(days=7)).timestamp()

        def query(conn: sqlite3.Connection) -> Stats:
            def one(sql: str, *args: object) -> int:
                return int(conn.execute(sql, args).fetchone()[0] or 0)

            rows = conn.execute(
                "SELECT key, CAST(value AS INTEGER) FROM meta WHERE key IN (?, ?, ?, ?, ?)",
                _PURGED,
            ).fetchall()
            purged = {str(key): int(value) for key, value in rows}

            def counts(when: str, outcome: str, *values: str) -> Counts:
                """Links matching `outcome` (SQL over ?s), by the time column `when`."""
                today_n, week_n, total_n = conn.execute(
                    f"SELECT COALESCE(SUM({when} >= ?), 0), COALESCE(SUM({when} >= ?), 0),"  # noqa: S608 - fixed text
                    f" COUNT(*) FROM links WHERE {outcome}",
                    (today, week, *values),
                ).fetchone()
                return Counts(int(today_n), int(week_n), int(total_n))

            received = counts("created_at", "1")
            delivered = counts("finished_at", "outcome IN (?, ?)", *DELIVERED)
            failed = counts("finished_at", "outcome = ?", LinkOutcome.FAILED.value)
            cancelled = counts("finished_at", "outcome = ?", LinkOutcome.CANCELLED.value)
            gone = {key: purged.get(key, 0) for key in _PURGED}
            # Totals purged before received/failed/cancelled were kept: at least the sum.
            gone_received = max(
                gone[PURGED_RECEIVED],
                gone[PURGED_DELIVERED] + gone[PURGED_FAILED] + gone[PURGED_CANCELLED],
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
                received=_plus(received, gone_received),
                delivered=_plus(delivered, gone[PURGED_DELIVERED]),
                failed=_plus(failed, gone[PURGED_FAILED]),
                cancelled=_plus(cancelled, gone[PURGED_CANCELLED]),
                in_progress=one(
                    "SELECT COUNT(*) FROM links WHERE outcome = ?", LinkOutcome.PENDING.value
                ),
                bytes_delivered=one(
                    "SELECT COALESCE(SUM(size), 0) FROM links WHERE outcome IN (?, ?)", *DELIVERED
                )
                + gone[PURGED_BYTES],
                failures=tuple((str(r[0]), int(r[1])) for r in failures),
            )

        return await self._db.run(query)


def _plus(counts: Counts, purged: int) -> Counts:
    """Purged links add to the total only: with LINK_RETENTION_DAYS under 7, the 7-day figure
    counts the links still kept."""
    return Counts(counts.today, counts.week, counts.total + purged)
