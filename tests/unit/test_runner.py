"""A job's endings: recorded by the pipeline before the presenter tells the chat, whatever
the chat does.

The jobs here are answered from the file_id cache, so no fetcher runs; the deliverer and the
chat are small fakes that fail on cue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from bot.download.cancel import CancelToken, StopReason
from bot.download.urls import normalize_url
from bot.i18n import Translator
from bot.jobs.control import JobControl
from bot.jobs.engine import JobReport
from bot.jobs.fetch import Fetcher
from bot.jobs.manager import run_job
from bot.jobs.outcomes import outcome_label
from bot.jobs.pipeline import Pipeline, PipelineConfig
from bot.model.failures import DeliveryError, FailureReason, UnconfirmedDeliveryError
from bot.model.job import Job, JobState
from bot.model.media import MediaKind
from bot.presenter.presenter import JobPresenter, PresenterConfig, Presenters
from bot.store.cache import CachedFile, CacheRepo, put_file
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome, LinkRepo
from bot.store.outcomes import OutcomeRepo
from bot.store.parts import PartRepo
from bot.telegram_io.chat import Buttons, NotSentError
from bot.telegram_io.lanes import Direct
from bot.upload.album import Resent
from bot.upload.types import Delivery, ProgressFn, Uploaded

CHAT = 5
URL = "https://example.com/clip.mp4"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Unused:
    """Stands in for a fetcher these jobs never reach."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a fetcher was used: {name}")


class Deliverer:
    """Resends by file_id, or fails as told; counts resends."""

    capacity = 50 * 1024 * 1024
    album_limit = 50 * 1024 * 1024

    async def send_album(self, deliveries: list[Delivery], progress: ProgressFn) -> list[Uploaded]:
        raise AssertionError("no albums in these tests")

    async def resend_album(
        self,
        chat_id: int,
        items: list[Resent],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[Uploaded]:
        raise AssertionError("no albums in these tests")

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.resends = 0

    async def deliver(self, delivery: Delivery, progress: ProgressFn) -> Uploaded:
        raise AssertionError("nothing is uploaded in these tests")

    async def resend(
        self,
        chat_id: int,
        kind: MediaKind,
        file_id: str,
        caption: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Uploaded:
        self.resends += 1
        if self.failure is not None:
            raise self.failure
        return Uploaded(9, file_id, kind, "botapi")


@dataclass
class Chat:
    """Status messages go out; a final one fails `failures` times in the way given."""

    failures: int = 0
    error: Callable[[], Exception] = lambda: NotSentError("network down")
    hang: asyncio.Event | None = None
    before_final: Callable[[], Any] | None = None
    texts: dict[int, str] = field(default_factory=dict)
    final_tries: int = 0

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int | None:
        await self._maybe_fail(text)
        self.texts[len(self.texts) + 1] = text
        return len(self.texts)

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, buttons: Buttons | None = None
    ) -> bool:
        await self._maybe_fail(text)
        self.texts[message_id] = text
        return True

    async def delete(self, chat_id: int, message_id: int) -> None:
        self.texts.pop(message_id, None)

    async def _maybe_fail(self, text: str) -> None:
        if text.startswith("⏳"):
            return  # the status message works
        self.final_tries += 1
        if self.before_final is not None:
            await self.before_final()
        if self.hang is not None:
            self.hang.set()
            await asyncio.Event().wait()  # until cancelled
        if self.failures > 0:
            self.failures -= 1
            raise self.error()


@dataclass
class Active:
    """A job as the engine holds it: its handles and its presenter."""

    job: Job
    control: JobControl
    presenter: JobPresenter

    @property
    def cancel(self) -> CancelToken:
        return self.control.cancel


@dataclass
class World:
    db: Database
    jobs: JobRepo
    links: LinkRepo
    cache: CacheRepo
    reports: list[JobReport]

    def runner(self, deliverer: Deliverer) -> Runner:
        config = PipelineConfig(Path("/nonexistent"), 60, 0)
        pipeline = Pipeline(
            config=config,
            fetcher=cast("Fetcher", Unused()),
            postprocess=cast("Any", Unused()),
            deliverer=deliverer,
            cache=self.cache,
            records=OutcomeRepo(self.db, now),
            parts=PartRepo(self.db, now),
            translator=lambda _lang: Translator("en"),
        )
        return Runner(pipeline, self.reports.append)

    async def job(self, chat: Chat, delays: tuple[float, ...] = (0.0, 0.0)) -> Active:
        link_id = await self.links.add(CHAT, URL)
        job = await self.jobs.create(
            user_id=CHAT, chat_id=CHAT, url=URL, language="en", link_id=link_id
        )
        config = PresenterConfig(final_retry_delays=delays, stopping_message_s=0.05, quiet=0)
        presenters = Presenters(
            chat, Direct(), lambda _lang: Translator("en"), self.jobs.remember, config
        )
        return Active(job, JobControl(), presenters(job, None))

    async def state(self, job: Job) -> tuple[JobState, LinkOutcome]:
        [record] = await self.links.history(CHAT, limit=1)
        states = {j.id for j in await self.jobs.unfinished()}
        rows = await self.db.run(
            lambda c: c.execute("SELECT state FROM jobs WHERE id = ?", (job.id,)).fetchone()
        )
        assert (job.id in states) == (rows["state"] in ("queued", "running"))
        return JobState(rows["state"]), record.outcome


@dataclass
class Runner:
    pipeline: Pipeline
    report: Callable[[JobReport], None]

    async def run(self, active: Active) -> None:
        await run_job(self.pipeline, active.job, active.control, active.presenter, self.report)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = Database(tmp_path / "db.sqlite3")
    await db.open()
    entry = CachedFile("FILE-ID", MediaKind.VIDEO, "clip", 10)
    await db.run(lambda conn: put_file(conn, normalize_url(URL), "file", entry, at=0.0))
    yield World(db, JobRepo(db, now), LinkRepo(db, now), CacheRepo(db), [])
    await db.close()


async def test_the_outcome_is_recorded_before_the_last_message_and_that_is_retried(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    chat = Chat(failures=2)
    active = await world.job(chat)
    seen: list[tuple[JobState, LinkOutcome]] = []

    async def look() -> None:
        seen.append(await world.state(active.job))

    chat.before_final = look
    refused = DeliveryError(FailureReason.UPLOAD_FAILED, "Bad Request: no")
    with caplog.at_level(logging.WARNING):
        await world.runner(Deliverer(refused)).run(active)

    assert seen == [(JobState.FAILED, LinkOutcome.FAILED)] * 3  # at every try, already on disk
    assert chat.final_tries == 3
    assert any(text.startswith("❌") for text in chat.texts.values())
    assert "final_message_not_sent" in caplog.text
    assert [outcome_label(r.outcome) for r in world.reports] == ["failed"]


async def test_a_last_message_that_never_goes_out_leaves_the_job_failed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    chat = Chat(failures=99)
    active = await world.job(chat)
    await world.runner(Deliverer(DeliveryError(FailureReason.UPLOAD_FAILED, "no"))).run(active)

    assert chat.final_tries == 3  # the message was retried, the job never
    assert await world.state(active.job) == (JobState.FAILED, LinkOutcome.FAILED)
    assert "final_message_gave_up" in caplog.text


async def test_a_last_message_that_crashes_does_not_touch_the_outcome(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    chat = Chat(failures=1, error=lambda: RuntimeError("a bug in the chat layer"))
    active = await world.job(chat)
    await world.runner(Deliverer(DeliveryError(FailureReason.UPLOAD_FAILED, "no"))).run(active)

    assert await world.state(active.job) == (JobState.FAILED, LinkOutcome.FAILED)
    assert "final_message_failed" in caplog.text


async def test_a_stop_while_the_last_message_hangs_does_not_rerun_the_job(world: World) -> None:
    hanging = asyncio.Event()
    chat = Chat(hang=hanging)
    active = await world.job(chat)
    runner = world.runner(Deliverer(DeliveryError(FailureReason.UPLOAD_FAILED, "no")))
    task = asyncio.create_task(runner.run(active))
    await hanging.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await world.state(active.job) == (JobState.FAILED, LinkOutcome.FAILED)
    assert await world.jobs.unfinished() == []  # nothing for a restart to run again
    assert [outcome_label(r.outcome) for r in world.reports] == ["failed"]


async def test_while_stopping_a_hanging_last_message_is_cut_short(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # The daemon is stopping (the job already told so): its last message gets one short try,
    # so the job's task ends and the stop keeps its budget.
    chat = Chat(hang=asyncio.Event())
    active = await world.job(chat)
    active.cancel.cancel(StopReason.SHUTDOWN)
    await world.runner(Deliverer(DeliveryError(FailureReason.UPLOAD_FAILED, "no"))).run(active)

    assert chat.final_tries == 1
    assert await world.state(active.job) == (JobState.FAILED, LinkOutcome.FAILED)
    assert "final_message_cut_short" in caplog.text


async def test_a_resend_whose_answer_was_lost_is_unconfirmed_and_not_repeated(
    world: World,
) -> None:
    chat = Chat()
    active = await world.job(chat)
    deliverer = Deliverer(UnconfirmedDeliveryError("botapi", "answer lost"))
    await world.runner(deliverer).run(active)

    assert deliverer.resends == 1
    assert await world.state(active.job) == (JobState.DONE, LinkOutcome.UNCONFIRMED)
    [text] = [t for t in chat.texts.values() if not t.startswith("⏳")]
    assert "It should be in this chat" in text
    assert "send the link again" in text
    assert [outcome_label(r.outcome) for r in world.reports] == ["unconfirmed"]


async def test_a_resend_records_the_delivery_and_removes_the_status_message(
    world: World,
) -> None:
    chat = Chat()
    active = await world.job(chat)
    await world.runner(Deliverer()).run(active)

    assert await world.state(active.job) == (JobState.DONE, LinkOutcome.DELIVERED)
    assert chat.texts == {}  # "Working…" went; the file is the answer


async def test_a_stop_during_a_resend_does_not_let_a_restart_send_it_again(world: World) -> None:
    class Hanging(Deliverer):
        async def resend(
            self,
            chat_id: int,
            kind: MediaKind,
            file_id: str,
            caption: str,
            *,
            reply_to: int | None = None,
            thread_id: int | None = None,
        ) -> Uploaded:
            self.resends += 1
            started.set()
            await asyncio.Event().wait()  # Telegram holds the answer
            raise AssertionError("unreachable")

    started = asyncio.Event()
    chat = Chat()
    active = await world.job(chat)
    deliverer = Hanging()
    task = asyncio.create_task(world.runner(deliverer).run(active))
    await started.wait()
    active.cancel.cancel(StopReason.SHUTDOWN)  # what the manager does on SIGTERM
    task.cancel()
    await task  # the job ends: recorded, and the user told

    assert await world.state(active.job) == (JobState.DONE, LinkOutcome.UNCONFIRMED)
    assert await world.jobs.unfinished() == []
    assert any("It should be in this chat" in text for text in chat.texts.values())
