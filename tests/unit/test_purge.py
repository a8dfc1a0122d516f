"""The daily purge of a busy bot: everything due goes, a batch at a time, and nothing waits
behind it: writes get in between batches, reads never wait for the writer."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.bigdb import Generated, Shape, generate
from bot.daily.expiry import ExpiryConfig, ExpiryService
from bot.i18n import I18n
from bot.store.batches import BatchPace, in_batches
from bot.store.cache import CacheRepo
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkRepo
from bot.store.meta import MetaRepo
from bot.store.stats import StatsRepo
from bot.store.users import UserRepo

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
RETENTION = dt.timedelta(days=30)
GUARD_S = 30  # only against a hang: every wait below ends on an event


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Silent:
    """A sender for the expiry notice that only counts messages."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, chat_id: int, text: str) -> None:
        del chat_id, text
        self.sent += 1


@pytest.fixture
async def busy(tmp_path: Path) -> AsyncIterator[tuple[Database, Generated]]:
    """Two months of a (small) busy bot: about half of it due."""
    made = generate(tmp_path / "tgfetch.sqlite3", Shape.at(0.004), now=NOW)
    db = Database(made.path)
    await db.open()
    try:
        yield db, made
    finally:
        await db.close()


def rows(path: Path, sql: str, *args: object) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(sql, args).fetchone()[0])


async def test_the_daily_job_removes_everything_due_and_keeps_the_figures(
    busy: tuple[Database, Generated], tmp_path: Path
) -> None:
    db, made = busy
    clock = Clock(NOW)
    cut = (NOW - RETENTION).timestamp()
    links, jobs = LinkRepo(db, clock), JobRepo(db, clock)
    waiting = await jobs.create(
        user_id=made.light_user, chat_id=1, url="https://a.example/q", language="en", link_id=1
    )  # an unfinished job whose link is due: the job stays
    stats = StatsRepo(db, clock, ZoneInfo("Asia/Tehran"), RETENTION)
    before = await stats.collect()
    assert made.due > 0 and rows(
        made.path, "SELECT COUNT(*) FROM file_cache WHERE created_at < ?", cut
    )

    service = ExpiryService(
        config=ExpiryConfig(
            admin_ids=(9001,),
            retention=RETENTION,
            notice_window=dt.timedelta(hours=24),
            daily_time=dt.time(9, 0),
            zone=ZoneInfo("UTC"),
            jobs_dir=tmp_path / "jobs",
        ),
        links=links,
        users=UserRepo(db, clock),
        jobs=jobs,
        cache=CacheRepo(db),
        meta=MetaRepo(db),
        sender=Silent(),
        translator=I18n().get,
        clock=clock,
    )
    report = await service.run()

    assert report.problems == ()
    assert report.purged_links == made.due
    assert rows(made.path, "SELECT COUNT(*) FROM links WHERE created_at < ?", cut) == 0
    assert (
        rows(made.path, "SELECT COUNT(*) FROM jobs WHERE updated_at < ? AND state = 'done'", cut)
        == 0
    )
    assert rows(made.path, "SELECT COUNT(*) FROM file_cache WHERE created_at < ?", cut) == 0
    # Parts go with their job or file: none is left without one.
    orphans = "SELECT COUNT(*) FROM job_parts WHERE job_id NOT IN (SELECT id FROM jobs)"
    assert rows(made.path, orphans) == 0
    cache_orphans = (
        "SELECT COUNT(*) FROM file_cache_parts p WHERE NOT EXISTS (SELECT 1 FROM file_cache f"
        " WHERE f.url_key = p.url_key AND f.choice = p.choice)"
    )
    assert rows(made.path, cache_orphans) == 0
    assert rows(made.path, "SELECT COUNT(*) FROM links") == made.links - made.due
    assert [j.id for j in await jobs.unfinished()] == [waiting.id]
    after = await stats.collect()
    assert after == before  # the figures do not depend on the links kept
    assert after.received.total == made.links  # every link ever sent, purged or kept


async def test_a_write_gets_in_between_two_batches(tmp_path: Path) -> None:
    db = Database(tmp_path / "tgfetch.sqlite3")
    await db.open()
    order: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def step(conn: sqlite3.Connection, limit: int) -> int:
        order.append("batch")
        if len(order) == 1:
            inside.set()
            release.wait(GUARD_S)
        return limit if order.count("batch") < 3 else 0

    try:
        work = asyncio.create_task(in_batches(db, step, BatchPace(first=10)))
        await asyncio.wait_for(asyncio.to_thread(inside.wait), GUARD_S)
        write = asyncio.create_task(db.run(lambda conn: order.append("write")))
        await asyncio.sleep(0)  # the write is submitted behind the batch under way
        release.set()
        await asyncio.wait_for(asyncio.gather(work, write), GUARD_S)
    finally:
        release.set()
        await db.close()
    assert order == ["batch", "write", "batch", "batch"]


async def test_a_read_does_not_wait_for_the_writer(tmp_path: Path) -> None:
    db = Database(tmp_path / "tgfetch.sqlite3")
    await db.open()
    holding, release = threading.Event(), threading.Event()

    def long_write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'held')")
        holding.set()
        release.wait(GUARD_S)

    try:
        await MetaRepo(db).set("k0", "committed")
        writer = asyncio.create_task(db.run(long_write))
        await asyncio.wait_for(asyncio.to_thread(holding.wait), GUARD_S)
        meta = MetaRepo(db)
        # The writer is held mid-transaction: the reads answer, from what was committed.
        seen = await asyncio.wait_for(asyncio.gather(meta.get("k0"), meta.get("k")), GUARD_S)
        assert not release.is_set()
        release.set()
        await writer
        assert list(seen) == ["committed", None]
        assert await meta.get("k") == "held"
    finally:
        release.set()
        await db.close()


def test_a_batch_follows_how_long_the_last_one_took() -> None:
    pace = BatchPace(first=500, least=20, most=5000, target_s=0.02)
    assert pace.next(500, 0.02) == 500
    assert pace.next(500, 0.2) == 250  # at most halved at once
    assert pace.next(500, 0.001) == 1000  # at most doubled
    assert pace.next(30, 1.0) == 20
    assert pace.next(4000, 0.001) == 5000
