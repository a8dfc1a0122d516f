"""Every query the bot runs for a user or in the daily job finds its rows through an index.

The queries are not listed here by hand: every repository method and every function of
bot/store that takes a connection is run (the test fails on one it has no call for), each
statement they send is traced, and SQLite's EXPLAIN QUERY PLAN of it, against the production
schema, must not scan a big table from end to end (a partial index, bounded by what it holds,
may be walked). The history page, the cache lookup, the job resume, the expiry notice, the
purge and the statistics are among them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import inspect
import pkgutil
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.store
from bench.bigdb import Generated, Shape, generate
from bot.model.job import FormatChoice, JobState, ParkMark
from bot.model.media import MediaKind
from bot.store import purge, tally
from bot.store.cache import CachedFile, CacheRepo, drop_file, put_file
from bot.store.db import Database
from bot.store.groups import GroupRepo
from bot.store.inline import InlineRepo
from bot.store.jobs import JobRepo, link_of
from bot.store.links import LinkOutcome, LinkRepo, drop_link, finish_link, insert_link
from bot.store.meta import MetaRepo, get_value, set_value
from bot.store.outcomes import (
    Cached,
    Ending,
    OutcomeRepo,
    mark_started,
    write_choice,
    write_ending,
)
from bot.store.parts import PartRepo, SentPart, cached_parts, drop_parts, put_parts
from bot.store.stats import StatsRepo
from bot.store.tally import Tallied
from bot.store.users import UserRepo, UserSettings

# Tables that grow with traffic: a scan of any of them grows with it.
BIG = frozenset(
    {
        "links",
        "jobs",
        "file_cache",
        "job_parts",
        "file_cache_parts",
        "link_tally",
        "inline_links",
        "chat_groups",
    }
)
NOT_STORE = frozenset({"migrations", "db", "batches"})  # no query of their own
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
CUT = NOW - dt.timedelta(days=30)
KEYWORDS = frozenset(
    [
        "where",
        "on",
        "left",
        "join",
        "inner",
        "cross",
        "natural",
        "order",
        "group",
        "limit",
        "set",
        "using",
        "indexed",
        "as",
        "union",
        "values",
        "select",
    ]
)


def store_api() -> set[str]:
    """What bot/store offers: Repo methods and the functions that take a connection."""
    names: set[str] = set()
    for info in pkgutil.iter_modules(bot.store.__path__):
        if info.name in NOT_STORE:
            continue
        module = importlib.import_module(f"bot.store.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj) and name.endswith("Repo"):
                names |= {
                    f"{name}.{method}"
                    for method, fn in vars(obj).items()
                    if not method.startswith("_") and inspect.iscoroutinefunction(fn)
                }
            elif inspect.isfunction(obj) and list(inspect.signature(obj).parameters)[:1] == [
                "conn"
            ]:
                names.add(f"{info.name}.{name}")
    return names


def full_scans(conn: sqlite3.Connection, sql: str) -> list[str]:
    """The lines of the statement's plan that walk a whole big table (or a whole index of
    one that is not partial)."""
    partial = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"
        )
    }
    names = set(BIG)  # and the aliases the statement gives them
    for table, alias in re.findall(r"\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", sql, re.I):
        if table in BIG and alias and alias.lower() not in KEYWORDS:
            names.add(alias)
    found = []
    for row in conn.execute("EXPLAIN QUERY PLAN " + sql):
        step = re.match(r"(SCAN|SEARCH) (\w+)(?: USING (?:COVERING )?(INDEX (\w+)|\w+))?", row[3])
        if step is None or step.group(2) not in names:
            continue
        walk, _, using, index = step.groups()
        # A SEARCH with no index to search is a walk too (min/max over rowids, say).
        if (walk == "SCAN" and index not in partial) or (walk == "SEARCH" and using is None):
            found.append(row[3])
    return found


@dataclass
class World:
    db: Database
    made: Generated
    clock: Callable[[], dt.datetime] = field(default=lambda: NOW)

    def __post_init__(self) -> None:
        self.links = LinkRepo(self.db, self.clock)
        self.jobs = JobRepo(self.db, self.clock)
        self.cache = CacheRepo(self.db)
        self.meta = MetaRepo(self.db)
        self.outcomes = OutcomeRepo(self.db, self.clock)
        self.parts = PartRepo(self.db, self.clock)
        self.stats = StatsRepo(self.db, self.clock, ZoneInfo("Asia/Tehran"))
        self.users = UserRepo(self.db, self.clock)
        self.groups = GroupRepo(self.db, self.clock)
        self.inline = InlineRepo(self.db, self.clock, key=b"k")

    def on(self, fn: Callable[[sqlite3.Connection], object]) -> Awaitable[object]:
        return self.db.run(fn)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    made = generate(tmp_path / "tgfetch.sqlite3", Shape.at(0.0002), now=NOW)
    db = Database(made.path)
    await db.open()
    try:
        yield World(db, made)
    finally:
        await db.close()


FILE = CachedFile("F1", MediaKind.VIDEO, "t", 10, 0, (SentPart(1, 1, "F1", MediaKind.VIDEO, 10),))
PART = SentPart(1, 2, "P1", MediaKind.VIDEO, 5, 0.0, 1.0)
KEY = "https://youtu.be/abc"
Call = Callable[[World], Awaitable[object]]

# Everything bot/store offers, each called as the bot calls it; destructive ones last.
CALLS: dict[str, Call] = {
    "UserRepo.touch": lambda w: w.users.touch(w.made.light_user, "Ada", "ada", "en"),
    "UserRepo.get": lambda w: w.users.get(w.made.light_user),
    "UserRepo.set_language": lambda w: w.users.set_language(w.made.light_user, "fa"),
    "UserRepo.set_banned": lambda w: w.users.set_banned(1, banned=True),
    "UserRepo.save_settings": lambda w: w.users.save_settings(
        w.made.light_user, UserSettings(FormatChoice.AUDIO, video_as_file=True, more_note=False)
    ),
    "GroupRepo.get": lambda w: w.groups.get(-100123),
    "GroupRepo.added": lambda w: w.groups.added(-100123, 7),
    "GroupRepo.set_autodl": lambda w: w.groups.set_autodl(-100123, on=True),
    "GroupRepo.migrated": lambda w: w.groups.migrated(-100123, -100456),
    "GroupRepo.removed": lambda w: w.groups.removed(-100456),
    "InlineRepo.put": lambda w: w.inline.put(w.made.light_user, KEY),  # one per inline query
    "InlineRepo.url_of": lambda w: w.inline.url_of("dl-x", w.made.light_user),
    "JobRepo.get": lambda w: w.jobs.get(3),  # a job's button
    "UserRepo.many": lambda w: w.users.many([w.made.light_user, w.made.heavy_user]),
    "UserRepo.recent": lambda w: w.users.recent(15),
    "LinkRepo.add": lambda w: w.links.add(w.made.light_user, KEY),
    "links.insert_link": lambda w: w.on(lambda c: insert_link(c, 5, KEY, at=NOW.timestamp())),
    "LinkRepo.finish": lambda w: w.links.finish(1, LinkOutcome.FAILED, reason="timeout"),
    "links.finish_link": lambda w: w.on(
        lambda c: finish_link(c, 2, LinkOutcome.DELIVERED, at=NOW.timestamp(), size=9)
    ),
    "LinkRepo.history": lambda w: w.links.history(w.made.light_user, limit=10, offset=10),
    "LinkRepo.count": lambda w: w.links.count(w.made.light_user),
    "LinkRepo.url_of": lambda w: w.links.url_of(1, w.made.light_user),  # /pdf from a link's button
    "LinkRepo.expiring": lambda w: w.links.expiring(CUT + dt.timedelta(days=1)),
    "LinkRepo.mark_noticed": lambda w: w.links.mark_noticed([1, 2, 3]),
    "JobRepo.create": lambda w: w.jobs.create(
        user_id=7, chat_id=7, url=KEY, language="en", link_id=None, new_link=True
    ),
    "JobRepo.update": lambda w: w.jobs.update(
        3,
        state=JobState.RUNNING,
        choice=FormatChoice.BEST,
        status_message_id=4,
        bump_attempts=True,
        attempts=2,
    ),
    "JobRepo.remember": lambda w: w.jobs.remember(3, 5),
    "JobRepo.begin_session": lambda w: w.jobs.begin_session(),
    "JobRepo.end_session": lambda w: w.jobs.end_session(),
    "JobRepo.unfinished": lambda w: w.jobs.unfinished(),
    "jobs.link_of": lambda w: w.on(lambda c: link_of(c, 3)),
    "MetaRepo.get": lambda w: w.meta.get("jobs_session"),
    "MetaRepo.set": lambda w: w.meta.set("k", "v"),
    "meta.get_value": lambda w: w.on(lambda c: get_value(c, "k")),
    "meta.set_value": lambda w: w.on(lambda c: set_value(c, "k", "w")),
    "OutcomeRepo.started": lambda w: w.outcomes.started(4),
    "outcomes.mark_started": lambda w: w.on(
        lambda c: mark_started(c, 4, at=NOW.timestamp(), attempts=2)
    ),
    "OutcomeRepo.chose": lambda w: w.outcomes.chose(4, FormatChoice.AUDIO),
    "outcomes.write_choice": lambda w: w.on(
        lambda c: write_choice(c, 4, FormatChoice.BEST, at=NOW.timestamp())
    ),
    "OutcomeRepo.record": lambda w: w.outcomes.record(
        4,
        4,
        Ending(JobState.DONE, LinkOutcome.DELIVERED, size=3, cached=Cached(KEY, "best", FILE)),
    ),
    "outcomes.write_ending": lambda w: w.on(
        lambda c: write_ending(
            c,
            5,
            5,
            Ending(JobState.FAILED, LinkOutcome.FAILED, reason="dns", attempts=1),
            at=NOW.timestamp(),
            once=True,
        )
    ),
    "PartRepo.record": lambda w: w.parts.record(6, PART),
    "PartRepo.sent": lambda w: w.parts.sent(6),
    "cache.put_file": lambda w: w.on(lambda c: put_file(c, KEY, "audio", FILE, at=1.0)),
    "CacheRepo.get": lambda w: w.cache.get(KEY, "best"),
    "CacheRepo.of_url": lambda w: w.cache.of_url(KEY),
    "parts.cached_parts": lambda w: w.on(lambda c: cached_parts(c, KEY, "best")),
    "parts.put_parts": lambda w: w.on(lambda c: put_parts(c, KEY, "best", (PART,))),
    "parts.drop_parts": lambda w: w.on(lambda c: drop_parts(c, KEY, "small")),
    "StatsRepo.collect": lambda w: w.stats.collect(),
    "tally.count": lambda w: w.on(lambda c: tally.count(c, Tallied.RECEIVED, 1.0)),
    "tally.count_ending": lambda w: w.on(
        lambda c: tally.count_ending(c, "failed", 1.0, reason="x", size=None)
    ),
    "tally.prune": lambda w: w.on(lambda c: tally.prune(c, CUT.timestamp(), 100)),
    "CacheRepo.drop": lambda w: w.cache.drop(KEY, "audio"),
    "cache.drop_file": lambda w: w.on(lambda c: drop_file(c, KEY, "best")),
    "JobRepo.discard": lambda w: w.jobs.discard(8),
    "links.drop_link": lambda w: w.on(lambda c: drop_link(c, 9)),
    "LinkRepo.forget": lambda w: w.links.forget(w.made.heavy_user),
    "JobRepo.forget_finished": lambda w: w.jobs.forget_finished(w.made.heavy_user),
    "purge.links_of": lambda w: w.on(lambda c: purge.links_of(c, w.made.light_user, 5)),
    "purge.finished_jobs_of": lambda w: w.on(
        lambda c: purge.finished_jobs_of(c, w.made.light_user, 5)
    ),
    "LinkRepo.purge": lambda w: w.links.purge(CUT),
    "JobRepo.purge_finished": lambda w: w.jobs.purge_finished(CUT),
    "CacheRepo.purge": lambda w: w.cache.purge(CUT),
    "purge.expired_links": lambda w: w.on(lambda c: purge.expired_links(c, NOW.timestamp(), 5)),
    "purge.finished_jobs": lambda w: w.on(lambda c: purge.finished_jobs(c, NOW.timestamp(), 5)),
    "purge.cached_files": lambda w: w.on(lambda c: purge.cached_files(c, NOW.timestamp(), 5)),
}


def test_every_query_of_the_store_is_called_here() -> None:
    offered = store_api()
    assert not offered - CALLS.keys(), "add a call to CALLS for each"
    assert not CALLS.keys() - offered, "gone from bot/store: remove from CALLS"


async def test_no_query_scans_a_big_table(world: World) -> None:
    seen: list[str] = []
    await world.db.trace(seen.append)
    await world.links.expiring(CUT, include_noticed=True)  # the admins' /expiring
    await world.jobs.discard(10)  # a link that never started, its counts taken back
    parked = Ending(JobState.PARKED, parked=ParkMark(NOW, NOW, "rate_limited"))
    await world.outcomes.record(11, 11, parked)  # a site refused it for now (issue 23)
    for call in CALLS.values():
        await call(world)
    await world.db.trace(None)
    shapes: dict[str, str] = {}  # one statement of each shape (values taken out)
    for sql in seen:
        if re.match(r"\s*(SELECT|WITH|UPDATE|DELETE|INSERT)", sql, re.I):
            shapes.setdefault(re.sub(r"'[^']*'|\b\d+(\.\d+)?\b|NULL", "?", sql), sql)
    statements = sorted(shapes.values())
    assert len(statements) > 40  # the trace works
    scans: dict[str, list[str]] = {}
    with contextlib.closing(sqlite3.connect(world.made.path)) as conn:
        for sql in statements:
            if found := full_scans(conn, sql):
                scans[sql] = found
    assert not scans, "full scans:\n" + "\n".join(f"{s}\n  -> {p}" for s, p in scans.items())


def test_the_check_finds_the_scan_a_missing_index_causes(tmp_path: Path) -> None:
    # Before issue 29, jobs.link_id had no index: each row of a history page scanned the jobs.
    made = generate(tmp_path / "tgfetch.sqlite3", Shape.at(0.0002), now=NOW)
    history = (
        "SELECT l.*, j.choice AS choice FROM (SELECT * FROM links WHERE user_id = 5"
        " ORDER BY created_at DESC LIMIT 10) l LEFT JOIN jobs j ON j.id ="
        " (SELECT MAX(id) FROM jobs WHERE link_id = l.id)"
    )
    with contextlib.closing(sqlite3.connect(made.path)) as conn:
        assert full_scans(conn, history) == []
        conn.execute("DROP INDEX jobs_link")
    # A new connection: an EXPLAIN prepared before would still show the old plan.
    with contextlib.closing(sqlite3.connect(made.path)) as conn:
        assert full_scans(conn, history) == ["SEARCH jobs"]  # by rowid from the last job back
        assert full_scans(conn, "SELECT COUNT(*) FROM links") != []
        assert full_scans(conn, "SELECT COUNT(*) FROM links WHERE outcome = 'pending'") == []
