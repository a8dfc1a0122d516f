"""The job manager with a scripted pipeline: bounds, positions, cancellation, no stale edits."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import Translator
from bot.jobs.control import JobControl
from bot.jobs.engine import Admission
from bot.jobs.events import EventSink, Started
from bot.jobs.manager import JobManager, Limits
from bot.jobs.outcomes import Failed, Outcome
from bot.model.failures import FailureReason
from bot.model.job import Job, JobPrefs, JobState
from bot.presenter.presenter import PresenterConfig, Presenters
from bot.presenter.texts import failure_text
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.outcomes import OutcomeRepo
from bot.telegram_io.chat import Buttons
from bot.telegram_io.lanes import Direct

QUICK = PresenterConfig(quiet=0)  # status at once: these tests are about what it says

LAST_WORD = failure_text(Translator("en"), Failed(FailureReason.INTERNAL))


class SlowUI:
    """A chat whose edits take a while, so they overlap as they do against Telegram."""

    def __init__(self) -> None:
        self.texts: dict[int, str] = {}
        self.replies: dict[int, int | None] = {}  # message id -> the message it replies to
        self.sent = asyncio.Event()  # set by each new message
        self._next = 0

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int | None:
        self._next += 1
        self.texts[self._next] = text
        self.replies[self._next] = reply_to
        self.sent.set()
        return self._next

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, buttons: Buttons | None = None
    ) -> bool:
        # Queue-position edits are the slow ones here, so jobs overtake them.
        await asyncio.sleep(0.03 if "queue" in text else 0.001)
        self.texts[message_id] = text
        return True

    async def delete(self, chat_id: int, message_id: int) -> None:
        self.texts.pop(message_id, None)


class ScriptedPipeline:
    """Starts, waits to be released, then fails (so that every job ends with a last word)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path("/nonexistent")
        self.release: dict[int, asyncio.Event] = {}
        self.started: list[int] = []
        self.jobs: list[Job] = []
        self.finished: list[int] = []
        self.all_done = asyncio.Event()
        self.expected = 0

    def folder_of(self, job_id: int) -> Path:
        return self.root / "jobs" / str(job_id)

    async def run(self, job: Job, control: JobControl, events: EventSink) -> Outcome:
        self.started.append(job.id)
        self.jobs.append(job)
        gate = self.release.setdefault(job.id, asyncio.Event())
        events.emit(Started())
        await gate.wait()
        self.finished.append(job.id)
        if len(self.finished) == self.expected:
            self.all_done.set()
        return Failed(FailureReason.INTERNAL)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "db.sqlite3")
    await database.open()
    yield database
    await database.close()


def make(
    db: Database,
    runner: ScriptedPipeline,
    ui: SlowUI,
    on_idle: Callable[[], None] | None = None,
    **limits: int,
) -> JobManager:
    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    bounds = {"workers": 1, "per_user": 5, "max_queued": 3} | limits
    return JobManager(
        limits=Limits(**bounds),
        repo=JobRepo(db, now),
        outcomes=OutcomeRepo(db, now),
        pipeline=runner,  # type: ignore[arg-type]
        observers=Presenters(
            ui, Direct(), lambda _lang: Translator("en"), JobRepo(db, now).remember, QUICK
        ),
        on_idle=on_idle,
    )


async def submit(manager: JobManager, user: int, n: int) -> Any:
    return await manager.submit(
        user_id=user, chat_id=user, url=f"https://e.com/{n}", language="en", reply_to=None
    )


async def until_no_task_can_write() -> None:
    """Every job's task and status writer has ended: no edit can land after this."""
    while tasks := [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith(("job-", "status-")) and not t.done()
    ]:
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_positions_never_overwrite_a_started_or_finished_job(db: Database) -> None:
    runner, ui = ScriptedPipeline(), SlowUI()
    manager = make(db, runner, ui, max_queued=30)
    for job_id in range(1, 21):  # jobs end at once, faster than position edits go out
        runner.release[job_id] = asyncio.Event()
        runner.release[job_id].set()
    runner.expected = 20
    results = await asyncio.gather(*(submit(manager, 10 + n, n) for n in range(20)))
    assert sorted(r.position for r in results)[0] == 0
    await asyncio.wait_for(runner.all_done.wait(), 10)
    await until_no_task_can_write()  # a stale edit still in flight has landed by then
    # Every message ends with its job's last word: no queue position edited over it.
    assert list(ui.texts.values()) == [LAST_WORD] * 20


async def test_bounds_and_cancel_of_a_queued_job(db: Database) -> None:
    runner, ui = ScriptedPipeline(), SlowUI()
    manager = make(db, runner, ui, per_user=2, max_queued=1)
    assert (await submit(manager, 1, 0)).admission is Admission.ACCEPTED
    queued = await submit(manager, 1, 1)
    assert queued.position == 1
    assert (await submit(manager, 1, 2)).admission is Admission.USER_LIMIT
    assert (await submit(manager, 2, 3)).admission is Admission.QUEUE_FULL
    assert manager.running == 1
    assert await manager.cancel(queued.job_id, user_id=2) is False  # not the owner
    assert await manager.cancel(queued.job_id, user_id=1)
    assert manager.queued == 0
    assert "Cancelled" in ui.texts[2]
    runner.release.setdefault(1, asyncio.Event()).set()
    await manager.shutdown(5)
    assert runner.started == [1]


async def test_a_job_running_at_a_crash_is_given_up_and_a_waiting_one_resumed(
    db: Database, tmp_path: Path
) -> None:
    first, ui = ScriptedPipeline(tmp_path), SlowUI()
    before = make(db, first, ui)
    assert await before.resume() == 0  # a fresh start: the session begins
    running = await submit(before, 1, 0)
    waiting = await submit(before, 2, 1)
    await JobRepo(db, dt.datetime.now).update(running.job_id, state=JobState.RUNNING)
    left_behind = first.folder_of(running.job_id)
    left_behind.mkdir(parents=True)
    (left_behind / "half.bin").write_bytes(b"x")
    await crash()

    second = ScriptedPipeline(tmp_path)
    second.release[waiting.job_id] = asyncio.Event()
    second.release[waiting.job_id].set()
    second.expected = 1
    after = make(db, second, ui)
    assert await after.resume() == 1
    await asyncio.wait_for(second.all_done.wait(), 10)
    assert second.started == [waiting.job_id]
    assert [j.id for j in await JobRepo(db, dt.datetime.now).unfinished()] == [waiting.job_id]
    texts = " ".join(ui.texts.values())
    assert "stopped unexpectedly while working on this link" in texts
    assert not left_behind.exists()
    await after.shutdown(5)


async def test_a_resumed_job_still_answers_the_users_link(db: Database) -> None:
    first, ui = ScriptedPipeline(), SlowUI()
    before = make(db, first, ui)
    await before.resume()
    submitted = await before.submit(
        user_id=1, chat_id=1, url="https://e.com/a", language="en", reply_to=42
    )
    assert submitted.job_id is not None
    await before.shutdown(0)  # a restart: the job runs again on the next start

    again, later_ui = ScriptedPipeline(), SlowUI()
    again.release[submitted.job_id] = asyncio.Event()
    again.release[submitted.job_id].set()
    again.expected = 1
    after = make(db, again, later_ui)
    assert await after.resume() == 1
    await asyncio.wait_for(again.all_done.wait(), 10)

    [resumed] = again.jobs
    assert resumed.reply_to == 42  # its file will reply to the link, as before the restart
    assert set(later_ui.replies.values()) == {42}  # and so does its status message
    await after.shutdown(5)


async def test_after_a_clean_shutdown_nothing_is_given_up(db: Database) -> None:
    runner, ui = ScriptedPipeline(), SlowUI()
    manager = make(db, runner, ui)
    await manager.resume()
    await manager.shutdown(5)
    job = await submit(make(db, ScriptedPipeline(), ui), 1, 0)
    await crash()  # with a job marked running, but after the session had ended cleanly
    await JobRepo(db, dt.datetime.now).update(job.job_id, state=JobState.RUNNING)
    again = ScriptedPipeline()
    assert await make(db, again, ui).resume() == 1
    assert "unexpectedly" not in " ".join(ui.texts.values())
    await crash()


async def test_a_stop_during_start_up_keeps_a_crash_marked(db: Database) -> None:
    # A SIGTERM can come before resume() (the start-up it belongs to is cancelled): that stop
    # must not clear the marker of the crash before it, or the job that crashed the bot
    # would run again on the next start.
    ui = SlowUI()
    crashed_run = make(db, ScriptedPipeline(), ui)
    await crashed_run.resume()
    job = await submit(crashed_run, 1, 0)
    await crash()
    await JobRepo(db, dt.datetime.now).update(job.job_id, state=JobState.RUNNING)

    await make(db, ScriptedPipeline(), ui).shutdown(5)  # stopped before it resumed anything

    again = ScriptedPipeline()
    assert await make(db, again, ui).resume() == 0
    assert again.started == []
    assert "stopped unexpectedly while working on this link" in " ".join(ui.texts.values())


async def crash() -> None:
    """The process dies: its job tasks vanish, with no shutdown to record anything."""
    # (A cancelled job frees its worker, which starts the next: cancel until none is left.)
    while tasks := [t for t in asyncio.all_tasks() if t.get_name().startswith("job-")]:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_job_keeps_its_topic_and_prefs_and_a_replaced_one_leaves_no_word(
    db: Database,
) -> None:
    runner, ui = ScriptedPipeline(), SlowUI()
    manager = make(db, runner, ui)
    await submit(manager, 1, 0)  # holds the only worker
    prefs = JobPrefs(as_file=True, more_note=False)
    waiting = await manager.submit(
        user_id=1,
        chat_id=-100,
        url="https://e.com/t",
        language="en",
        reply_to=4,
        thread_id=9,
        prefs=prefs,
    )
    assert waiting.job_id is not None
    stored = await JobRepo(db, lambda: dt.datetime.now(dt.UTC)).get(waiting.job_id)
    assert stored is not None
    assert (stored.chat_id, stored.answers, stored.prefs) == (-100, (4, 9), prefs)
    async with asyncio.timeout(5):  # its queue position is shown
        while len(ui.texts) < 2:
            ui.sent.clear()
            await ui.sent.wait()
    assert "queue" in ui.texts[2]
    assert await manager.cancel(waiting.job_id, 1, replaced=True)
    # Its status message went without a word: the job that took the link over speaks.
    assert list(ui.texts.values()) == ["⏳ Working on your link…"]
    runner.release.setdefault(1, asyncio.Event()).set()
    await manager.shutdown(5)


async def test_the_idle_hook_runs_when_the_last_running_job_ends(db: Database) -> None:
    # The daemon gives a burst's memory back then (bot/ops/heap.py QuietTrim).
    runner, ui = ScriptedPipeline(), SlowUI()
    idle: list[int] = []
    manager = make(db, runner, ui, on_idle=lambda: idle.append(manager.running), workers=2)
    first = await submit(manager, 1, 0)
    second = await submit(manager, 2, 1)
    runner.expected = 2
    runner.release.setdefault(first.job_id, asyncio.Event()).set()
    [task] = [t for t in asyncio.all_tasks() if t.get_name() == f"job-{first.job_id}"]
    await task
    assert idle == []  # one job still runs
    runner.release.setdefault(second.job_id, asyncio.Event()).set()
    await asyncio.wait_for(runner.all_done.wait(), 10)
    await until_no_task_can_write()
    assert idle == [0]
    await manager.shutdown(5)
