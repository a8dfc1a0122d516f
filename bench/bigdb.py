"""Writes the database of a busy bot after two months: links, finished jobs, cached files, users.

At scale 1: 1M links and their 1M finished jobs spread over 60 days, 300k cached files, 20k
users (a few heavy, most light), about 260 MB. Rows are written as the schema the project had
when this was written (version 3) would hold them, with big executemany transactions; the
migrations since are then applied as an upgrade would apply them (timed: `upgrade_s`), unless
`schema` stops them earlier (a database for an older checkout's daemon to open).

Links older than the retention are due for the purge; those were already in an expiry notice
(as the daily runs before would have sent it), the day's links within the notice window were
not. `python -m bench.bigdb --scale 0.01 --out /tmp/x.sqlite3` writes one by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.store.migrations import MIGRATIONS, migrate

BASE_SCHEMA = 3  # the rows below are those of this version
DAY_S = 86_400.0
CHUNK = 50_000  # rows per executemany
REASONS = ("unavailable", "login_required", "http_status", "timeout", "too_large", "no_media")
HOSTS = ("youtu.be", "vimeo.com", "instagram.com/p", "x.com/i", "files.example.org")


@dataclass(frozen=True, slots=True)
class Shape:
    """How much traffic: scale 1 is the two months of the issue."""

    links: int
    cached: int
    users: int
    days: float = 60.0

    @classmethod
    def at(cls, scale: float) -> Shape:
        return cls(
            links=max(200, round(1_000_000 * scale)),
            cached=max(60, round(300_000 * scale)),
            users=max(40, round(20_000 * scale)),
        )


@dataclass(frozen=True, slots=True)
class Generated:
    """What was written, for the measures to pick from."""

    path: Path
    now: float  # the moment the data ends (UTC seconds)
    links: int
    users: int
    cached: int
    parts: int
    due: int  # links created before now - retention
    light_user: int  # a user with about 40 links (the /history figure)
    light_links: int
    heavy_user: int
    seconds: float  # writing the rows
    upgrade_s: float  # the migrations past BASE_SCHEMA
    schema: int
    size_mb: float


def generate(
    path: Path,
    shape: Shape,
    *,
    now: dt.datetime,
    retention: dt.timedelta = dt.timedelta(days=30),
    notice: dt.timedelta = dt.timedelta(hours=24),
    schema: int | None = None,
    seed: int = 29,
) -> Generated:
    """Write the database at `path` (which must not exist)."""
    if path.exists():
        raise FileExistsError(path)
    rng = random.Random(seed)
    end = now.timestamp()
    start = end - shape.days * DAY_S
    noticed_before = end - retention.total_seconds()
    began = time.monotonic()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        migrate(conn, target=BASE_SCHEMA)
        owners = _owners(rng, shape)
        counts: dict[int, int] = {}
        for user in owners:
            counts[user] = counts.get(user, 0) + 1
        light = min(counts, key=lambda u: (abs(counts[u] - 40), u))
        heavy = max(counts, key=lambda u: (counts[u], -u))
        conn.execute("BEGIN")
        _users(conn, rng, sorted(counts), (start, end), {light, heavy})
        parts = 0
        ahead = (retention - notice).total_seconds()  # when the daily run noticed a link
        for rows, jobs, job_parts in _traffic(
            rng, shape, owners, (start, end), noticed_before, ahead
        ):
            conn.executemany(_INSERT_LINK, rows)
            conn.executemany(_INSERT_JOB, jobs)
            conn.executemany(_INSERT_PART, job_parts)
            parts += len(job_parts)
        _cache(conn, rng, shape, start, end)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('jobs_session', 'stopped')"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        )
        conn.execute("COMMIT")
        written = time.monotonic() - began
        due = conn.execute(
            "SELECT COUNT(*) FROM links WHERE created_at < ?", (noticed_before,)
        ).fetchone()[0]
        upgrade = time.monotonic()
        version = migrate(conn, target=schema if schema is not None else len(MIGRATIONS))
        upgrade_s = time.monotonic() - upgrade
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return Generated(
        path=path,
        now=end,
        links=shape.links,
        users=len(counts),
        cached=shape.cached,
        parts=parts,
        due=int(due),
        light_user=light,
        light_links=counts[light],
        heavy_user=heavy,
        seconds=round(written, 2),
        upgrade_s=round(upgrade_s, 2),
        schema=version,
        size_mb=round(path.stat().st_size / 1e6, 1),
    )


def _owners(rng: random.Random, shape: Shape) -> list[int]:
    """Whose each link is: a long tail (most users send a few dozen, a few send thousands)."""
    ids = [100_000 + n for n in range(shape.users)]
    weights = [1.0 / (rank + 8) ** 0.9 for rank in range(shape.users)]
    rng.shuffle(ids)
    return rng.choices(ids, weights=weights, k=shape.links)


_INSERT_USER = (
    "INSERT INTO users (user_id, first_name, username, language_code, language_override,"
    " banned, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_LINK = (
    "INSERT INTO links (id, user_id, url, created_at, outcome, reason, size, title, finished_at,"
    " noticed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_JOB = (
    "INSERT INTO jobs (id, user_id, chat_id, url, choice, state, language, status_message_id,"
    " link_id, attempts, created_at, updated_at, reply_to)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_PART = (
    "INSERT INTO job_parts (job_id, part, parts, file_id, kind, size, start_s, end_s, sent_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CACHE = (
    "INSERT OR IGNORE INTO file_cache (url_key, choice, file_id, kind, title, size, created_at,"
    " more) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CACHE_PART = (
    "INSERT OR IGNORE INTO file_cache_parts (url_key, choice, part, file_id, kind, size, start_s,"
    " end_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _users(
    conn: sqlite3.Connection,
    rng: random.Random,
    ids: list[int],
    span: tuple[float, float],
    never_banned: set[int],
) -> None:
    start, end = span
    rows = []
    for user in ids:
        first = rng.uniform(start, end - 3600)
        banned = rng.random() < 0.005 and user not in never_banned
        rows.append(
            (
                user,
                f"User {user}",
                f"user{user}" if rng.random() < 0.7 else None,
                "fa" if rng.random() < 0.4 else "en",
                None,
                int(banned),
                first,
                rng.uniform(first, end),
            )
        )
    conn.executemany(_INSERT_USER, rows)


def _url(rng: random.Random, n: int) -> str:
    host = HOSTS[n % len(HOSTS)]
    token = "".join(rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0189", k=11))
    return f"https://{host}/{token}"


_Rows = list[tuple[object, ...]]


def _traffic(
    rng: random.Random,
    shape: Shape,
    owners: list[int],
    span: tuple[float, float],
    noticed_before: float,
    ahead: float,
) -> Iterator[tuple[_Rows, _Rows, _Rows]]:
    """Links in the order they came, each with its finished job (same id) and sent parts."""
    start, end = span
    step = (end - 600 - start) / shape.links
    for first in range(0, shape.links, CHUNK):
        links: _Rows = []
        jobs: _Rows = []
        parts: _Rows = []
        for n in range(first, min(first + CHUNK, shape.links)):
            link_id, user = n + 1, owners[n]
            created = start + n * step + rng.uniform(0, step)
            finished = created + rng.uniform(3, 180)
            roll = rng.random()
            size: int | None = rng.randint(200_000, 48_000_000)
            reason = title = None
            if roll < 0.85:
                outcome, state, title = "delivered", "done", f"Clip {n}"
            elif roll < 0.87:
                outcome, state = "unconfirmed", "done"
            elif roll < 0.97:
                outcome, state, size = "failed", "failed", None
                reason = REASONS[rng.randrange(len(REASONS))]
            else:
                outcome, state, size = "cancelled", "cancelled", None
            url = _url(rng, n)
            noticed = created + ahead if created < noticed_before else None
            links.append(
                (link_id, user, url, created, outcome, reason, size, title, finished, noticed)
            )
            kind = rng.random()
            choice = "all" if kind < 0.01 else "audio" if kind < 0.1 else "best"
            jobs.append(
                (link_id, user, user, url, choice, state, "en", 1000 + n, link_id, 1, created,
                 finished, 2000 + n)
            )  # fmt: skip
            pieces = rng.randint(3, 8) if choice == "all" else 3 if kind > 0.97 else 0
            if state == "done":
                parts += [
                    (link_id, p, pieces, f"BQACAgIAAx{link_id:09d}p{p}", "video", 1_000_000,
                     None, None, finished)
                    for p in range(1, pieces + 1)
                ]  # fmt: skip
        yield links, jobs, parts


def _cache(
    conn: sqlite3.Connection, rng: random.Random, shape: Shape, start: float, end: float
) -> None:
    for first in range(0, shape.cached, CHUNK):
        rows: _Rows = []
        parts: _Rows = []
        for n in range(first, min(first + CHUNK, shape.cached)):
            key = _url(rng, n)
            at = start + (end - start) * (n + rng.random()) / shape.cached  # in the order sent
            rows.append(
                (key, "best", f"BAACAgIAAx{n:012d}", "video", f"Clip {n}", 4_000_000, at, 0)
            )
            if n % 50 == 0:
                parts += [
                    (key, "best", p, f"BAACAgIAAx{n:012d}p{p}", "video", 1_000_000, None, None)
                    for p in range(1, 4)
                ]
        conn.executemany(_INSERT_CACHE, rows)
        conn.executemany(_INSERT_CACHE_PART, parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--schema", type=int, default=None, help="stop the upgrade there")
    args = parser.parse_args()
    made = generate(
        args.out, Shape.at(args.scale), now=dt.datetime.now(dt.UTC), schema=args.schema
    )
    print(made)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
