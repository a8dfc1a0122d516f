"""/admin's figures: links received, delivered, failed, cancelled; today, 7 days, total."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.store.db import Database
from bot.store.links import PURGED_DELIVERED, LinkOutcome, LinkRepo
from bot.store.meta import MetaRepo
from bot.store.stats import Counts, StatsRepo

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


async def test_a_purge_before_received_was_kept_still_counts_as_received(
    db: Database,
) -> None:
    # Older versions kept only the purged deliveries: received is at least that.
    await MetaRepo(db).set(PURGED_DELIVERED, "7")
    stats = await StatsRepo(db, Clock(NOW), TEHRAN).collect()
    assert stats.received.total == 7
    assert stats.delivered.total == 7
