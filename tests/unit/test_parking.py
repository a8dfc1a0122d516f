"""Park and retry: a job the site refuses for now waits, is tried again with backoff, keeps its
place in the user's limits and its Cancel button, survives a restart, and gives up when the
window is over. The clock and the waits are the test's: nothing sleeps through a backoff."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import Translator
from bot.jobs.control import JobControl
from bot.jobs.engine import Admission
from bot.jobs.events import EventSink, Started
from bot.jobs.manager import JobManager, Limits
from bot.jobs.outcomes import Delivered, Outcome, SentFile
from bot.jobs.parking import ParkPolicy
from bot.jobs.record import Endings
from bot.jobs.run import JobRun
from bot.model.failures import FailureReason, FetchError
from bot.model.job import Job, JobState
from bot.presenter.presenter import Presenters
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome
from bot.store.outcomes import Ending, OutcomeRepo
from bot.telegram_io.lanes import Direct
from tests.unit.test_manager import QUICK, SlowUI

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(hours=6)


@dataclass
class Clock:
    now: dt.datetime = T0

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Waits:
    """wait_until that returns when the test moves the clock past the moment."""

    clock: Clock
    pending: list[tuple[dt.datetime, asyncio.Event]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, moment: dt.datetime) -> None:
        event = asyncio.Event()
        self.pending.append((moment, event))
        self.changed.set()
        await event.wait()

    async def next_wait(self) -> dt.datetime:
        while not self.pending:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)
        return min(moment for moment, _ in self.pending)

    def advance_to(self, moment: dt.datetime) -> None:
        self.clock.now = moment
        for when, event in list(self.pending):
            if when <= moment:
                self.pending.remove((when, event))
                event.set()


class RefusingPipeline:
    """The record stage of the real pipeline, over a site that answers 429 `refusals` times."""

    def __init__(self, db: Database, clock: Clock, root: Path, refusals: int) -> None:
        self.records = OutcomeRepo(db, clock)
        self.endings = Endings(self.records, root, ParkPolicy(WINDOW, clock))
        self.root = root
        self.refusals = refusals
        self.tries = 0
        self.done = asyncio.Event()
        self.ran = asyncio.Event()

    def folder_of(self, job_id: int) -> Path:
        return self.root / "jobs" / str(job_id)

    async def run(self, job: Job, control: JobControl, events: EventSink) -> Outcome:
        self.tries += 1
        self.ran.set()
        events.emit(Started())
        await self.records.started(job.id)
        if self.tries <= self.refusals:
            error = FetchError(FailureReason.RATE_LIMITED, "HTTP Error 429", status=429)
            run = JobRun(job, control, events, Translator("en"), self.folder_of(job.id), job.url)
            return await self.endings.failed(run, error)
        ending = Ending(JobState.DONE, LinkOutcome.DELIVERED, size=10)
        await self.records.record(job.id, job.link_id, ending)
        self.done.set()
        return Delivered((SentFile("botapi", 10),))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "db.sqlite3")
    await database.open()
    yield database
    await database.close()


def make(db: Database, pipeline: RefusingPipeline, ui: SlowUI, waits: Waits) -> JobManager:
    clock = waits.clock
    return JobManager(
        limits=Limits(workers=1, per_user=1, max_queued=5, park_hours=6),
        repo=JobRepo(db, clock),
        outcomes=OutcomeRepo(db, clock),
        pipeline=pipeline,  # type: ignore[arg-type]
        observers=Presenters(
            ui, Direct(), lambda _lang: Translator("en"), JobRepo(db, clock).remember, QUICK
        ),
        wait_until=waits,
    )


async def submit(manager: JobManager, user: int = 1, n: int = 0) -> Any:
    return await manager.submit(
        user_id=user, chat_id=user, url=f"https://e.com/{n}", language="en", reply_to=None
    )


async def stored(db: Database, clock: Clock, job_id: int) -> Job:
    return next(j for j in await JobRepo(db, clock).unfinished() if j.id == job_id)


async def settle() -> None:
    for _ in range(20):  # the presenter's writer and the DB thread get their turns
        await asyncio.sleep(0.01)


async def test_a_refused_job_waits_keeps_its_slot_and_arrives_after_backoff(
    db: Database, tmp_path: Path
) -> None:
    clock, ui = Clock(), SlowUI()
    waits = Waits(clock)
    pipeline = RefusingPipeline(db, clock, tmp_path, refusals=2)
    manager = make(db, pipeline, ui, waits)
    await manager.resume()
    job_id = (await submit(manager)).job_id

    first = await waits.next_wait()
    assert first == T0 + WINDOW / 100  # 3.6 minutes
    job = await stored(db, clock, job_id)
    assert (job.state, job.parked_since, job.retry_at) == (JobState.PARKED, T0, first)
    await settle()
    [message] = ui.texts.values()  # told once, in the status message
    assert "refusing the bot for now" in message
    assert "6 hours" in message
    # Still the user's: a second link is over their limit of one.
    assert (await submit(manager, n=1)).admission is Admission.USER_LIMIT

    waits.advance_to(first)  # refused again: the time parked doubles, nothing new is said
    second = await waits.next_wait()
    assert second == T0 + 2 * (WINDOW / 100)
    await settle()
    assert list(ui.texts.values()) == [message]

    waits.advance_to(second)
    await asyncio.wait_for(pipeline.done.wait(), 5)
    await settle()
    assert ui.texts == {}  # the file is the answer: the status message went
    assert pipeline.tries == 3
    assert (await submit(manager, n=2)).admission is Admission.ACCEPTED  # the slot is free
    await manager.shutdown(1)


async def test_past_the_window_the_failure_stands(db: Database, tmp_path: Path) -> None:
    clock, ui = Clock(), SlowUI()
    waits = Waits(clock)
    pipeline = RefusingPipeline(db, clock, tmp_path, refusals=99)
    manager = make(db, pipeline, ui, waits)
    await manager.resume()
    job_id = (await submit(manager)).job_id
    moments = []
    while True:
        moment = await waits.next_wait()
        if moment >= T0 + WINDOW:
            break
        moments.append(moment)
        waits.advance_to(moment)
    waits.advance_to(T0 + WINDOW)  # the last try, at the window's end
    for _ in range(100):
        await settle()
        if "too many requests" in " ".join(ui.texts.values()):
            break
    [last_word] = ui.texts.values()
    assert "limiting how often the bot may ask" in last_word
    assert all(b - a <= dt.timedelta(minutes=45) for a, b in itertools.pairwise(moments))
    assert not [j for j in await JobRepo(db, clock).unfinished() if j.id == job_id]
    await manager.shutdown(1)


async def test_cancel_while_parked(db: Database, tmp_path: Path) -> None:
    clock, ui = Clock(), SlowUI()
    waits = Waits(clock)
    manager = make(db, RefusingPipeline(db, clock, tmp_path, refusals=9), ui, waits)
    await manager.resume()
    job_id = (await submit(manager)).job_id
    await waits.next_wait()
    assert await manager.cancel(job_id, user_id=1)
    await settle()
    [message] = ui.texts.values()
    assert "Cancelled" in message
    assert (await submit(manager, n=1)).admission is Admission.ACCEPTED
    await manager.shutdown(1)


async def test_a_parked_job_survives_a_restart_without_a_word(
    db: Database, tmp_path: Path
) -> None:
    clock, ui = Clock(), SlowUI()
    waits = Waits(clock)
    before = make(db, RefusingPipeline(db, clock, tmp_path, refusals=1), ui, waits)
    await before.resume()
    job_id = (await submit(before)).job_id
    retry_at = await waits.next_wait()
    await settle()
    told = dict(ui.texts)
    await before.shutdown(1)

    clock.now = retry_at + dt.timedelta(minutes=1)  # it was due while the bot was down
    later = Waits(clock)
    after_pipeline = RefusingPipeline(db, clock, tmp_path, refusals=0)
    after = make(db, after_pipeline, ui, later)
    assert await after.resume() == 0  # nothing queued: the job is parked, not lost
    assert await later.next_wait() == retry_at
    assert ui.texts == told  # no "the bot restarted" message for it
    assert (await submit(after, n=1)).admission is Admission.USER_LIMIT
    later.advance_to(clock.now)
    await asyncio.wait_for(after_pipeline.done.wait(), 5)
    assert after_pipeline.tries == 1
    assert not [j for j in await JobRepo(db, clock).unfinished() if j.id == job_id]
    await after.shutdown(1)
