"""Links counted as they come and as they end, by quarter hour: what /admin adds up.

Each count is written in the transaction that records what it counts (a new link, a link's
outcome), so the figures are never behind the links and cost /admin a few hundred rows to
add up however many links there are. Quarter hours, because every time zone's midnight falls
on one's edge: "today" is exact in the operator's TZ, whichever TZ that is. Slot 0 holds the
counts of all time; the daily job drops the quarter hours no figure needs any more.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

SLOT_S = 900
ALL_TIME = 0


class Tallied(StrEnum):
    RECEIVED = "received"
    DELIVERED = "delivered"  # unconfirmed deliveries included: most likely in the chat
    FAILED = "failed"
    CANCELLED = "cancelled"


# A link's outcome (links.outcome) as it is counted; pending is not counted.
_ENDINGS = {
    "delivered": Tallied.DELIVERED,
    "unconfirmed": Tallied.DELIVERED,
    "failed": Tallied.FAILED,
    "cancelled": Tallied.CANCELLED,
}

_ADD = (
    "INSERT INTO link_tally (slot, what, reason, n, bytes) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT(slot, what, reason) DO UPDATE"
    " SET n = n + excluded.n, bytes = bytes + excluded.bytes"
)


def slot_of(at: float) -> int:
    """The quarter hour `at` (UTC seconds) falls in."""
    return int(at // SLOT_S)


def count(
    conn: sqlite3.Connection,
    what: Tallied,
    at: float,
    *,
    n: int = 1,
    size: int = 0,
    reason: str = "",
) -> None:
    """Add `n` (negative: take back) to the quarter hour of `at` and to all time, inside the
    caller's transaction."""
    for slot in (slot_of(at), ALL_TIME):
        conn.execute(_ADD, (slot, what.value, reason, n, size))


def count_ending(
    conn: sqlite3.Connection,
    outcome: str,
    at: float | None,
    *,
    reason: str | None,
    size: int | None,
    n: int = 1,
) -> None:
    """Count (or, with n=-1, take back) how a link ended; pending counts nothing."""
    what = _ENDINGS.get(outcome)
    if what is None or at is None:
        return
    delivered = what is Tallied.DELIVERED
    count(
        conn,
        what,
        at,
        n=n,
        size=n * (size or 0) if delivered else 0,
        reason=(reason or "") if what is Tallied.FAILED else "",
    )


def prune(conn: sqlite3.Connection, before: float, limit: int) -> int:
    """Drop up to `limit` quarter hours' rows older than `before` (all time stays)."""
    return conn.execute(
        "DELETE FROM link_tally WHERE (slot, what, reason) IN (SELECT slot, what, reason"
        " FROM link_tally WHERE slot > ? AND slot < ? LIMIT ?)",
        (ALL_TIME, slot_of(before), limit),
    ).rowcount
