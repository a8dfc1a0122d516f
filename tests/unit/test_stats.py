"""/admin's figures: links received, delivered, failed, cancelled; today, 7 days, total."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import astuple
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.bigdb import Shape, generate
from bot.model.job import JobState
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome, LinkRepo
from bot.store.migrations import MIGRATIONS, migrate
from bot.store.outcomes import Ending, write_ending
from bot.store.stats import Counts, Stats, StatsRepo

TEHRAN = ZoneInfo("Asia/Tehran")
# 10:00 in Tehran: "today" began 10 hours ago, at 20:30 UTC the day before.
NOW = dt.datetime(2026, 11, 29, 10, 0, tzinfo=TEHRAN)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "tgfetch.sqlite3")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def sent(
    db: Database, clock: Clock, ago: dt.timedelta, outcome: LinkOutcome, size: int = 0
) -> None:
    """A link sent `ago` before NOW that ended at once with `outcome`."""
    clock.now = NOW - ago
    links = LinkRepo(db, clock)
    link_id = await links.add(1, "https://a.example/x")
    if outcome is not LinkOutcome.PENDING:
        await links.finish(link_id, outcome, size=size or None)
    clock.now = NOW


async def test_each_figure_counts_what_it_says(db: Database) -> None:
    clock = Clock(NOW)
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    await sent(db, clock, hour, LinkOutcome.DELIVERED, 1000)
    await sent(db, clock, hour, LinkOutcome.UNCONFIRMED, 500)  # most likely in the chat
    await sent(db, clock, hour, LinkOutcome.FAILED)
    await sent(db, clock, 11 * hour, LinkOutcome.FAILED)  # yesterday, in Tehran
    await sent(db, clock, 3 * day, LinkOutcome.CANCELLED)
    await sent(db, clock, 10 * day, LinkOutcome.DELIVERED, 2000)
    await sent(db, clock, 2 * hour, LinkOutcome.PENDING)

    stats = await StatsRepo(db, clock, TEHRAN).collect()

    assert stats.received == Counts(today=4, week=6, total=7)
    assert stats.delivered == Counts(today=2, week=2, total=3)
    assert stats.failed == Counts(today=1, week=2, total=2)
    assert stats.cancelled == Counts(today=0, week=1, total=1)
    assert stats.in_progress == 1
    assert stats.bytes_delivered == 3500
    assert stats.failures == (("?", 2),)


async def test_totals_outlive_the_purge(db: Database) -> None:
    clock = Clock(NOW)
    old = dt.timedelta(days=40)
    await sent(db, clock, old, LinkOutcome.DELIVERED, 1000)
    await sent(db, clock, old, LinkOutcome.FAILED)
    await sent(db, clock, old, LinkOutcome.CANCELLED)
    await sent(db, clock, dt.timedelta(hours=1), LinkOutcome.DELIVERED, 10)
    before = await StatsRepo(db, clock, TEHRAN).collect()

    assert await LinkRepo(db, clock).purge(NOW - dt.timedelta(days=30)) == 3
    after = await StatsRepo(db, clock, TEHRAN).collect()

    assert after.received == before.received == Counts(1, 1, 4)
    assert after.delivered == before.delivered == Counts(1, 1, 2)
    assert after.failed == before.failed == Counts(0, 0, 1)
    assert after.cancelled == before.cancelled == Counts(0, 0, 1)
    assert after.bytes_delivered == before.bytes_delivered == 1010
    assert after.failures == ()  # the breakdown covers the links still kept


async def test_totals_purged_before_the_counts_were_kept_carry_over(tmp_path: Path) -> None:
    # Schema 3 kept running totals of purged links in meta (older versions only deliveries);
    # a link still kept is counted from its row.
    path = tmp_path / "old" / "tgfetch.sqlite3"
    path.parent.mkdir()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        migrate(conn, target=3)
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("links_purged_delivered", "7"), ("links_purged_failed", "2"),
             ("links_purged_bytes", "900")],
        )  # fmt: skip
        sent_at = (NOW - dt.timedelta(days=3)).timestamp()
        conn.execute(
            "INSERT INTO links (user_id, url, created_at, outcome, reason, size, finished_at)"
            " VALUES (1, 'https://a.example/x', ?, 'failed', 'timeout', NULL, ?)",
            (sent_at, sent_at + 5),
        )
    db = Database(path)
    await db.open()
    try:
        stats = await StatsRepo(db, Clock(NOW), TEHRAN).collect()
    finally:
        await db.close()
    assert stats.received == Counts(today=0, week=1, total=10)  # at least the sum purged
    assert stats.delivered == Counts(today=0, week=0, total=7)
    assert stats.failed == Counts(today=0, week=1, total=3)
    assert stats.bytes_delivered == 900
    assert stats.failures == (("timeout", 1),)


def counted_from_links(path: Path, now: dt.datetime) -> dict[str, tuple[int, int, int]]:
    """What the figures were before they were counted as links come and end: a count of
    every link (the 7 days from the quarter hour they began in)."""
    midnight = now.astimezone(TEHRAN).replace(hour=0, minute=0, second=0, microsecond=0)
    week = (now - dt.timedelta(days=7)).timestamp() // 900 * 900
    spans = (midnight.timestamp(), week)
    found = {}
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for name, when, outcome in (
            ("received", "created_at", "1"),
            ("delivered", "finished_at", "outcome IN ('delivered', 'unconfirmed')"),
            ("failed", "finished_at", "outcome = 'failed'"),
            ("cancelled", "finished_at", "outcome = 'cancelled'"),
        ):
            today, week_n, total = conn.execute(
                f"SELECT COALESCE(SUM({when} >= ?), 0), COALESCE(SUM({when} >= ?), 0),"  # noqa: S608
                f" COUNT(*) FROM links WHERE {outcome}",
                spans,
            ).fetchone()
            found[name] = (today, week_n, total)
        found["bytes"] = conn.execute(
            "SELECT COALESCE(SUM(size), 0), 0, 0 FROM links"
            " WHERE outcome IN ('delivered', 'unconfirmed')"
        ).fetchone()
    return found


def as_counted(stats: Stats) -> dict[str, tuple[int, int, int]]:
    return {
        "received": astuple(stats.received),
        "delivered": astuple(stats.delivered),
        "failed": astuple(stats.failed),
        "cancelled": astuple(stats.cancelled),
        "bytes": (stats.bytes_delivered, 0, 0),
    }


async def test_the_counts_kept_match_a_count_of_the_links(tmp_path: Path) -> None:
    # Two months of links written as schema 3 held them, upgraded: the counts are built from
    # the links; then links come and end in every way the bot records them.
    made = generate(tmp_path / "tgfetch.sqlite3", Shape.at(0.002), now=NOW)
    assert made.schema == len(MIGRATIONS)
    db = Database(made.path)
    await db.open()
    clock = Clock(NOW)
    stats = StatsRepo(db, clock, TEHRAN)
    try:
        assert as_counted(await stats.collect()) == counted_from_links(made.path, NOW)

        links, jobs = LinkRepo(db, clock), JobRepo(db, clock)
        first = await links.add(5, "https://a.example/1")
        await links.finish(first, LinkOutcome.FAILED, reason="timeout")
        await links.finish(first, LinkOutcome.DELIVERED, size=700)  # the same link again
        refused = await jobs.create(
            user_id=5, chat_id=5, url="https://a.example/2", language="en", link_id=None,
            new_link=True,
        )  # fmt: skip
        await jobs.discard(refused.id)  # as if never sent
        remote = await jobs.create(
            user_id=6, chat_id=6, url="https://a.example/3", language="en", link_id=None,
            new_link=True,
        )  # fmt: skip
        ending = Ending(JobState.DONE, LinkOutcome.UNCONFIRMED, size=50)
        for _ in range(2):  # a worker's report read twice is recorded once
            await db.run(
                lambda conn: write_ending(
                    conn, remote.id, remote.link_id, ending, at=NOW.timestamp(), once=True
                )
            )
        await links.add(7, "https://a.example/4")  # pending: received, not ended
        clock.now = NOW + dt.timedelta(hours=20)  # past Tehran's midnight: a new day
        await links.finish(made.links + 1, LinkOutcome.CANCELLED)  # ids run on from the made

        later = as_counted(await stats.collect())
        assert later == counted_from_links(made.path, clock.now)
        assert later["received"][2] == made.links + 3
    finally:
        await db.close()
