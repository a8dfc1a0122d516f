"""What the daily purge and /forget remove, one batch at a time (store/batches.py runs them).

Each step removes at most `limit` rows found through an index (tests/unit/test_query_plans.py
checks that none scans a whole table) and returns how many it removed: fewer than `limit`
means it is done. A job goes with its sent parts, a cached file with its parts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from bot.model.job import JobState

_UNFINISHED = tuple(s.value for s in JobState if not s.finished)
PER_STATEMENT = 500  # ids bound in one statement (old SQLite builds take at most 999)


def expired_links(conn: sqlite3.Connection, created_before: float, limit: int) -> int:
    return conn.execute(
        "DELETE FROM links WHERE id IN (SELECT id FROM links WHERE created_at < ?"
        " ORDER BY created_at LIMIT ?)",
        (created_before, limit),
    ).rowcount


def links_of(conn: sqlite3.Connection, user_id: int, limit: int) -> int:
    return conn.execute(
        "DELETE FROM links WHERE id IN (SELECT id FROM links WHERE user_id = ? LIMIT ?)",
        (user_id, limit),
    ).rowcount


def finished_jobs(conn: sqlite3.Connection, updated_before: float, limit: int) -> int:
    """Finished jobs last touched before the cut (an unfinished one is never removed).

    NOT IN the unfinished states, not IN the finished ones: with no statistics, SQLite would
    take jobs_state for the IN, which finds nearly every job, and sort them all."""
    marks = ", ".join("?" * len(_UNFINISHED))
    rows = conn.execute(
        f"SELECT id FROM jobs WHERE updated_at < ? AND state NOT IN ({marks})"  # noqa: S608
        " ORDER BY updated_at LIMIT ?",
        (updated_before, *_UNFINISHED, limit),
    ).fetchall()
    _drop_jobs(conn, [row[0] for row in rows])
    return len(rows)


def finished_jobs_of(conn: sqlite3.Connection, user_id: int, limit: int) -> int:
    """One user's finished jobs (their URLs), as /forget promises."""
    marks = ", ".join("?" * len(_UNFINISHED))
    rows = conn.execute(
        f"SELECT id FROM jobs WHERE user_id = ? AND state NOT IN ({marks}) LIMIT ?",  # noqa: S608
        (user_id, *_UNFINISHED, limit),
    ).fetchall()
    _drop_jobs(conn, [row[0] for row in rows])
    return len(rows)


def _drop_jobs(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    for first in range(0, len(ids), PER_STATEMENT):
        chunk = ids[first : first + PER_STATEMENT]
        marks = ", ".join("?" * len(chunk))
        conn.execute(f"DELETE FROM job_parts WHERE job_id IN ({marks})", chunk)  # noqa: S608
        conn.execute(f"DELETE FROM jobs WHERE id IN ({marks})", chunk)  # noqa: S608 - only ?s


def cached_files(conn: sqlite3.Connection, created_before: float, limit: int) -> int:
    """Cached files (and their parts) first delivered before the cut."""
    rows = conn.execute(
        "SELECT url_key, choice FROM file_cache WHERE created_at < ? ORDER BY created_at LIMIT ?",
        (created_before, limit),
    ).fetchall()
    keys = [(row[0], row[1]) for row in rows]
    conn.executemany("DELETE FROM file_cache_parts WHERE url_key = ? AND choice = ?", keys)
    conn.executemany("DELETE FROM file_cache WHERE url_key = ? AND choice = ?", keys)
    return len(keys)
