"""Numbers for the admin panel: users and activity; links received, delivered, failed and
cancelled today, in 7 days and in total; bytes delivered; failures by reason.

The link figures add up the counts kept as links come and end (store/tally.py), never the
links themselves; the rest are counts over an index (users_seen, users_banned, links_pending).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.store.db import Database
from bot.store.tally import ALL_TIME, Tallied, slot_of


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
    failures: tuple[tuple[str, int], ...]  # (reason, count), most frequent first, in retention


# The spans, as quarter hours: since midnight, the last 7 days (to the quarter hour), and
# all time; and every failure since the retention's start, by reason.
_SPANS = (
    "SELECT what, COALESCE(SUM(CASE WHEN slot >= ? THEN n END), 0), SUM(n) FROM link_tally"
    " WHERE slot >= ? GROUP BY what"
)
_TOTALS = "SELECT what, SUM(n), SUM(bytes) FROM link_tally WHERE slot = ? GROUP BY what"
_FAILURES = (
    "SELECT reason, SUM(n) AS count FROM link_tally WHERE slot >= ? AND slot > ? AND what = ?"
    " GROUP BY reason HAVING count > 0 ORDER BY count DESC, reason"
)


class StatsRepo:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], dt.datetime],
        zone: ZoneInfo,
        retention: dt.timedelta = dt.timedelta(days=30),
    ) -> None:
        self._db = db
        self._clock = clock
        self._zone = zone
        self._retention = retention

    async def collect(self) -> Stats:
        now = self._clock()
        midnight = now.astimezone(self._zone).replace(hour=0, minute=0, second=0, microsecond=0)
        today = slot_of(midnight.timestamp())
        week = slot_of((now - dt.timedelta(days=7)).timestamp())
        kept = slot_of((now - self._retention).timestamp())
        day = (now - dt.timedelta(days=1)).timestamp()
        week_ago = (now - dt.timedelta(days=7)).timestamp()

        def query(conn: sqlite3.Connection) -> Stats:
            def one(sql: str, *args: object) -> int:
                return int(conn.execute(sql, args).fetchone()[0] or 0)

            spans = {
                str(what): (int(t), int(w))
                for what, t, w in conn.execute(_SPANS, (today, max(week, ALL_TIME + 1)))
            }
            totals = {
                str(what): (int(n), int(size))
                for what, n, size in conn.execute(_TOTALS, (ALL_TIME,))
            }

            def counts(what: Tallied) -> Counts:
                today_n, week_n = spans.get(what.value, (0, 0))
                return Counts(today_n, week_n, totals.get(what.value, (0, 0))[0])

            failures = conn.execute(_FAILURES, (kept, ALL_TIME, Tallied.FAILED.value))
            return Stats(
                users=one("SELECT COUNT(*) FROM users"),
                active_day=one("SELECT COUNT(*) FROM users WHERE last_seen >= ?", day),
                active_week=one("SELECT COUNT(*) FROM users WHERE last_seen >= ?", week_ago),
                # Literals, not ?: a partial index is used only for the very condition it has.
                banned=one("SELECT COUNT(*) FROM users WHERE banned = 1"),
                received=counts(Tallied.RECEIVED),
                delivered=counts(Tallied.DELIVERED),
                failed=counts(Tallied.FAILED),
                cancelled=counts(Tallied.CANCELLED),
                in_progress=one("SELECT COUNT(*) FROM links WHERE outcome = 'pending'"),
                bytes_delivered=totals.get(Tallied.DELIVERED.value, (0, 0))[1],
                failures=tuple((str(r[0]) or "?", int(r[1])) for r in failures),
            )

        return await self._db.read(query)
