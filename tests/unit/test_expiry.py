"""The daily job with a real database and a clock the test moves: no sleeps, no Telegram."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.daily.expiry import LAST_RUN_KEY, ExpiryConfig, ExpiryService, SendError
from bot.daily.notice import TEXT_LIMIT, utf16_len
from bot.i18n import I18n
from bot.store.cache import CacheRepo
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome, LinkRepo
from bot.store.meta import MetaRepo
from bot.store.users import UserRepo
from tests.fakes.tg_text import render

UTC = dt.UTC
ADA, BOB = 1001, 1002
ADMINS = (9001, 9002)
# A Monday, 09:00 UTC: the daily job's default time.
MORNING = dt.datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
RETENTION = dt.timedelta(days=30)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class FakeSender:
    """Records what each chat got; chats in `refuse` answer like Telegram does for them."""

    refuse: dict[int, str] = field(default_factory=dict)
    sent: list[tuple[int, str]] = field(default_factory=list)

    async def send(self, chat_id: int, text: str) -> None:
        if chat_id in self.refuse:
            raise SendError(self.refuse[chat_id])
        assert utf16_len(render(text, "HTML")) <= TEXT_LIMIT  # parses, or raises ApiError
        assert utf16_len(text) <= TEXT_LIMIT
        self.sent.append((chat_id, text))

    def to(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


@dataclass
class World:
    """The repositories over one database file, and a service built like app.py builds it."""

    db: Database
    clock: Clock
    jobs_dir: Path
    links: LinkRepo = field(init=False)
    users: UserRepo = field(init=False)
    jobs: JobRepo = field(init=False)
    cache: CacheRepo = field(init=False)
    meta: MetaRepo = field(init=False)

    def __post_init__(self) -> None:
        self.links = LinkRepo(self.db, self.clock)
        self.users = UserRepo(self.db, self.clock)
        self.jobs = JobRepo(self.db, self.clock)
        self.cache = CacheRepo(self.db)
        self.meta = MetaRepo(self.db)

    def service(
        self,
        sender: FakeSender,
        admins: tuple[int, ...] = ADMINS,
        i18n: I18n | None = None,
        links: LinkRepo | None = None,
    ) -> ExpiryService:
        return ExpiryService(
            config=ExpiryConfig(
                admin_ids=admins,
                retention=RETENTION,
                notice_window=dt.timedelta(hours=24),
                daily_time=dt.time(9, 0),
                zone=ZoneInfo("UTC"),
                jobs_dir=self.jobs_dir,
            ),
            links=links or self.links,
            users=self.users,
            jobs=self.jobs,
            cache=self.cache,
            meta=self.meta,
            sender=sender,
            translator=(i18n or I18n()).get,
            clock=self.clock,
        )

    async def link(
        self,
        user_id: int,
        url: str,
        *,
        age: dt.timedelta,
        outcome: LinkOutcome = LinkOutcome.DELIVERED,
    ) -> int:
        """A link the user sent `age` before the clock's now."""
        now = self.clock.now
        self.clock.now = now - age
        try:
            link_id = await self.links.add(user_id, url)
            await self.links.finish(link_id, outcome, size=1000, title="t")
        finally:
            self.clock.now = now
        return link_id


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = Database(tmp_path / "tgfetch.sqlite3")
    await db.open()
    clock = Clock(MORNING)
    w = World(db, clock, tmp_path / "jobs")
    await w.users.touch(ADA, "Ada", "ada", "en")
    await w.users.touch(BOB, "Bob <&>", None, "en")
    try:
        yield w
    finally:
        await db.close()


def expires_in(hours: float) -> dt.timedelta:
    """The age of a link that the retention purges `hours` from now."""
    return RETENTION - dt.timedelta(hours=hours)


async def test_notice_lists_links_expiring_within_the_window_grouped_by_user(
    world: World,
) -> None:
    await world.link(ADA, "https://a.example/soon", age=expires_in(2))
    await world.link(ADA, "https://a.example/later-today", age=expires_in(23))
    await world.link(ADA, "https://a.example/tomorrow", age=expires_in(25))
    await world.link(BOB, "https://b.example/overdue", age=expires_in(-5))
    sender = FakeSender()

    report = await world.service(sender).run()

    assert report.noticed == 3
    assert report.notified == ADMINS
    [notice] = sender.to(9001)
    assert sender.to(9002) == [notice]
    assert "a.example/soon" in notice
    assert "a.example/later-today" in notice
    assert "b.example/overdue" in notice
    assert "tomorrow" not in notice
    assert '<a href="tg://user?id=1001">Ada</a> @ada · <code>1001</code>' in notice
    assert '<a href="tg://user?id=1002">Bob &lt;&amp;&gt;</a> · <code>1002</code>' in notice
    ada, bob = notice.index("id=1001"), notice.index("id=1002")
    assert ada < notice.index("a.example/soon") < notice.index("a.example/later-today") < bob
    assert bob < notice.index("b.example/overdue")
    assert "within 24 h" in render(notice, "HTML")
    # Then the purge: the overdue link is gone, the others stay until their time.
    assert report.purged_links == 1
    assert [r.url for r in await world.links.history(BOB, limit=10)] == []
    assert len(await world.links.history(ADA, limit=10)) == 3


async def test_each_link_is_noticed_once_across_runs(world: World) -> None:
    await world.link(ADA, "https://a.example/one", age=expires_in(3))
    await world.link(ADA, "https://a.example/two", age=expires_in(30))
    sender = FakeSender()
    service = world.service(sender)

    await service.run()
    assert len(sender.to(9001)) == 1
    world.clock.now += dt.timedelta(hours=1)
    again = await service.run()
    assert again.noticed == 0
    assert len(sender.to(9001)) == 1  # nothing new: no message at all

    world.clock.now = MORNING + dt.timedelta(days=1)
    next_day = await service.run()
    assert next_day.noticed == 1
    latest = sender.to(9001)[-1]
    assert "a.example/two" in latest
    assert "a.example/one" not in latest


async def test_a_restart_within_the_notice_window_does_not_repeat_it(world: World) -> None:
    await world.link(ADA, "https://a.example/one", age=expires_in(10))
    first = FakeSender()
    await world.service(first).run()
    assert len(first.to(9001)) == 1

    # A new process two hours later: new objects over the same database.
    world.clock.now = MORNING + dt.timedelta(hours=2)
    second = FakeSender()
    restarted = World(world.db, world.clock, world.jobs_dir).service(second)
    assert await restarted.catch_up() is None  # today's run already happened
    forced = await restarted.run()  # even a forced run does not repeat the notice
    assert forced.noticed == 0
    assert second.sent == []


async def test_a_missed_run_is_caught_up_at_start(world: World) -> None:
    await world.meta.set(LAST_RUN_KEY, (MORNING - dt.timedelta(days=2)).isoformat())
    await world.link(ADA, "https://a.example/one", age=expires_in(20))
    sender = FakeSender()
    service = world.service(sender)

    # Down since two days ago at 09:00; back at 08:00, before today's run: yesterday's is due.
    world.clock.now = MORNING - dt.timedelta(hours=1)
    report = await service.catch_up()
    assert report is not None
    assert report.noticed == 1
    assert await service.last_run() == world.clock.now
    # Started again at 08:30: yesterday's run is done, today's is not due yet.
    world.clock.now = MORNING - dt.timedelta(minutes=30)
    assert await service.catch_up() is None
    # Started again at 09:00:01: today's scheduled run was missed.
    world.clock.now = MORNING + dt.timedelta(seconds=1)
    assert await service.catch_up() is not None


async def test_the_first_start_ever_runs_the_job(world: World) -> None:
    sender = FakeSender()
    report = await world.service(sender).catch_up()
    assert report is not None
    assert sender.sent == []  # nothing expiring: no message
    assert await world.service(sender).catch_up() is None


@pytest.mark.parametrize(
    ("refusal", "why"),
    [
        ("Forbidden: bot was blocked by the user", "the admin blocked the bot"),
        ("Bad Request: chat not found", "the admin has not opened a chat with the bot yet"),
        ("Bad Request: message is too long", "Telegram refused the message"),
    ],
)
async def test_an_unreachable_admin_does_not_stop_the_notice_to_the_other(
    world: World, refusal: str, why: str
) -> None:
    await world.link(ADA, "https://a.example/one", age=expires_in(5))
    await world.link(ADA, "https://a.example/old", age=expires_in(-1))
    sender = FakeSender(refuse={9001: refusal})

    report = await world.service(sender).run()

    assert report.notified == (9002,)
    assert report.noticed == 2
    assert report.purged_links == 1  # the rest of the job still ran
    notice, problems = sender.to(9002)
    assert "a.example/one" in notice
    # Why, in the admins' words; Telegram's own (English) words are for the log.
    assert f"could not notify admin 9001: {why}" in render(problems, "HTML")
    assert refusal not in problems
    # The admin who got it will not get it again; the unreachable one is not told either.
    assert (await world.service(FakeSender()).run()).noticed == 0


async def test_nobody_reached_means_the_next_run_tries_again(world: World) -> None:
    await world.link(ADA, "https://a.example/one", age=expires_in(5))
    blocked = FakeSender(refuse=dict.fromkeys(ADMINS, "Forbidden: bot was blocked by the user"))
    assert (await world.service(blocked).run()).noticed == 0
    sender = FakeSender()
    assert (await world.service(sender).run()).noticed == 1


class BrokenPurge(LinkRepo):
    async def purge(self, created_before: dt.datetime) -> int:
        raise RuntimeError("disk on fire")


async def test_a_failing_step_is_reported_and_the_rest_still_runs(world: World) -> None:
    old = world.jobs_dir / "77"
    old.mkdir(parents=True)
    stamp = (MORNING - dt.timedelta(hours=2)).timestamp()
    os.utime(old, (stamp, stamp))
    sender = FakeSender()
    service = world.service(sender, links=BrokenPurge(world.db, world.clock))

    report = await service.run()

    assert report.removed_files == 1
    assert not old.exists()
    assert await service.last_run() == MORNING
    for admin in ADMINS:
        [text] = sender.to(admin)
        shown = render(text, "HTML")
        assert "purging expired links: an unexpected error (the details are in the log)" in shown
        assert "disk on fire" not in shown  # the exception's words are for the log


async def test_a_long_notice_is_split_between_lines_into_valid_messages(world: World) -> None:
    for user in range(2000, 2060):
        await world.users.touch(user, f"User & <{user}>", f"user{user}", "en")
        for n in range(6):
            url = f"https://site{user}.example/{'very-long-path-' * 5}{n}?q=1"
            await world.link(user, url, age=expires_in(1 + n))
    for n in range(120):  # one user with more links than one message holds
        await world.link(ADA, f"https://a.example/{n:03d}/{'x' * 40}", age=expires_in(2))
    sender = FakeSender()

    report = await world.service(sender, admins=(9001,)).run()

    parts = sender.to(9001)
    assert report.noticed == 60 * 6 + 120
    assert len(parts) > 2
    shown = [render(part, "HTML") for part in parts]  # every part is valid HTML on its own
    assert all(utf16_len(part) <= TEXT_LIMIT for part in parts)
    links_shown = sum(len(re.findall(r"^• ", text, re.MULTILINE)) for text in shown)
    assert links_shown == report.noticed
    for text in shown[1:]:
        # Each later part starts with a user's heading (continued, when the user was cut).
        assert text.startswith("👤 ")
    assert sum("Ada @ada · 1001 (continued)" in text for text in shown) >= 1


async def test_the_purge_removes_expired_links_and_stale_folders_only(world: World) -> None:
    await world.link(ADA, "https://a.example/expired", age=expires_in(-1))
    await world.link(ADA, "https://a.example/kept", age=expires_in(1))
    running = await world.jobs.create(
        user_id=ADA, chat_id=ADA, url="https://a.example/kept", language="en", link_id=None
    )
    world.jobs_dir.mkdir()
    folders = {name: world.jobs_dir / name for name in (str(running.id), "90", "91")}
    for folder in folders.values():
        folder.mkdir()
        (folder / "part.bin").write_bytes(b"x")
    stray = world.jobs_dir / "stray.tmp"
    stray.write_bytes(b"x")
    two_hours_ago = (MORNING - dt.timedelta(hours=2)).timestamp()
    ten_minutes_ago = (MORNING - dt.timedelta(minutes=10)).timestamp()
    for path in (folders[str(running.id)], folders["90"], stray):
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(folders["91"], (ten_minutes_ago, ten_minutes_ago))

    report = await world.service(FakeSender()).run()

    assert report.purged_links == 1
    assert [r.url for r in await world.links.history(ADA, limit=10)] == ["https://a.example/kept"]
    assert report.removed_files == 2
    assert folders[str(running.id)].exists()  # its job is unfinished
    assert folders["91"].exists()  # too recent: a job may be about to use it
    assert not folders["90"].exists()
    assert not stray.exists()


async def test_the_preview_shows_noticed_links_and_marks_nothing(world: World) -> None:
    await world.link(ADA, "https://a.example/one", age=expires_in(5))
    service = world.service(FakeSender())
    [preview] = await service.preview(I18n().get("en"))
    assert "a.example/one" in preview
    assert (await service.run()).noticed == 1  # the preview did not mark it
    assert len(await service.preview(I18n().get("en"))) == 1  # still listed: still expiring
    world.clock.now += dt.timedelta(days=2)
    await service.run()
    assert await service.preview(I18n().get("en")) == []


async def test_admins_get_the_notice_in_their_language(world: World, tmp_path: Path) -> None:
    catalog = tmp_path / "locales" / "de" / "LC_MESSAGES"
    catalog.mkdir(parents=True)
    (catalog / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "🗑 Links to be purged within {n} hour"\n'
        'msgid_plural "🗑 Links to be purged within {n} hours"\n'
        'msgstr[0] "🗑 Links, die in {n} Stunde gelöscht werden"\n'
        'msgstr[1] "🗑 Links, die in {n} Stunden gelöscht werden"\n',
        encoding="utf-8",
    )
    await world.users.touch(9001, "Admin", None, "en")
    await world.users.set_language(9001, "de")
    await world.users.touch(9002, "Admin", None, "de")
    await world.users.set_language(9002, "en")
    await world.link(ADA, "https://a.example/one", age=expires_in(5))
    sender = FakeSender()

    await world.service(sender, i18n=I18n(tmp_path / "locales")).run()

    assert "Links, die in 24 Stunden gelöscht werden" in sender.to(9001)[0]
    assert "Links to be purged" in sender.to(9002)[0]


def test_the_schedule_follows_the_time_zone(world: World) -> None:
    service = ExpiryService(
        config=ExpiryConfig(
            admin_ids=(),
            retention=RETENTION,
            notice_window=dt.timedelta(hours=24),
            daily_time=dt.time(9, 0),
            zone=ZoneInfo("Asia/Tehran"),  # UTC+03:30
            jobs_dir=world.jobs_dir,
        ),
        links=world.links,
        users=world.users,
        jobs=world.jobs,
        cache=world.cache,
        meta=world.meta,
        sender=FakeSender(),
        translator=I18n().get,
        clock=world.clock,
    )
    now = dt.datetime(2025, 3, 10, 6, 0, tzinfo=UTC)  # 09:30 in Tehran
    assert service.last_scheduled(now) == dt.datetime(2025, 3, 10, 5, 30, tzinfo=UTC)
    assert service.next_scheduled(now) == dt.datetime(2025, 3, 11, 5, 30, tzinfo=UTC)
    early = dt.datetime(2025, 3, 10, 5, 0, tzinfo=UTC)  # 08:30 in Tehran
    assert service.last_scheduled(early) == dt.datetime(2025, 3, 9, 5, 30, tzinfo=UTC)
