"""The presenter: events become edits of one status message, the latest winning, progress
held back by the edit interval, nothing at all for a job that ends within the quiet period,
queue positions edited O(1) times, and the last word always last."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from bot.i18n import Translator
from bot.jobs.events import Chosen, NeedChoice, Progress, Queued, Started
from bot.jobs.outcomes import Cancelled, Delivered, Failed, SentFile
from bot.model.failures import FailureReason
from bot.model.job import FormatChoice, Job, JobState
from bot.presenter.presenter import PresenterConfig, Presenters
from bot.telegram_io.chat import Buttons
from bot.telegram_io.lanes import Direct

MB = 1024 * 1024


class UI:
    """Records every send and edit, in order; `edited` fires on each."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.buttons: list[Buttons | None] = []
        self.threads: list[int | None] = []
        self.edited = asyncio.Event()

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int | None:
        self.threads.append(thread_id)
        self._show(text, buttons)
        return 1

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, buttons: Buttons | None = None
    ) -> bool:
        self._show(text, buttons)
        return True

    async def delete(self, chat_id: int, message_id: int) -> None:
        self.shown.append("<deleted>")

    def _show(self, text: str, buttons: Buttons | None) -> None:
        self.shown.append(text)
        self.buttons.append(buttons)
        self.edited.set()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def job() -> Job:
    now = dt.datetime.now(dt.UTC)
    return Job(
        5, 1, 1, "https://e.com/v", FormatChoice.AUTO, JobState.QUEUED, "en", None, 1, 0, now
    )


async def remembered(_job: int, _message: int) -> None:
    pass


def presenters(ui: UI, clock: Clock | None = None, **config: float) -> Presenters:
    settings = PresenterConfig(**{"quiet": 0.0, **config})  # type: ignore[arg-type]
    if clock is None:
        return Presenters(ui, Direct(), Translator, remembered, settings)
    return Presenters(ui, Direct(), Translator, remembered, settings, clock)


async def until_shown(ui: UI, count: int) -> None:
    async with asyncio.timeout(5):
        while len(ui.shown) < count:
            ui.edited.clear()
            await ui.edited.wait()


async def test_a_burst_of_progress_is_one_edit_with_the_latest_figures() -> None:
    ui = UI()
    presenter = presenters(ui, interval=0.2)(job(), None)
    presenter.emit(Started())
    await until_shown(ui, 1)
    for done in range(1, 21):  # faster than any edit could go
        presenter.emit(Progress("download", done * MB, 20 * MB, None, None))
    await until_shown(ui, 2)
    await presenter.finish(Cancelled())

    working, progress, last = ui.shown
    assert working.startswith("⏳ Working")
    assert "20 MB of 20 MB" in progress  # only the freshest figures went out
    assert last == "✖️ Cancelled."
    assert ui.buttons[-1] is None  # the last word has no Cancel button


async def test_the_choice_prompt_is_not_held_back_and_carries_its_buttons() -> None:
    ui = UI()
    presenter = presenters(ui, interval=60)(job(), None)
    presenter.emit(Queued(2))
    await until_shown(ui, 1)
    presenter.emit(NeedChoice("Clip", None, 20))  # within the interval: still at once
    await until_shown(ui, 2)
    presenter.emit(Progress("download", MB, None, None, None))  # held back: 60 s interval
    await presenter.finish(Delivered((SentFile("botapi", MB),)))

    assert ui.shown[0] == "🕒 In the queue: position 2."
    assert "Clip" in ui.shown[1]
    labels = [data for row in ui.buttons[1] or [] for _, data in row]
    assert labels == ["fmt:5:best", "fmt:5:small", "fmt:5:audio", "cancel:5"]
    assert ui.shown[2:] == ["<deleted>"]  # the file is the answer; no progress after it


async def test_nothing_is_shown_after_the_last_word() -> None:
    ui = UI()
    presenter = presenters(ui, interval=0.01)(job(), None)
    await presenter.finish(Cancelled())
    presenter.emit(Queued(1))  # a late event from the engine
    # What would show it: a writer started for it (the status-N task), which would edit.
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("status-")]
    assert ui.shown == ["✖️ Cancelled."]


async def test_a_job_that_delivers_within_the_quiet_period_makes_no_status_call() -> None:
    ui = UI()
    presenter = presenters(ui, quiet=60)(job(), None)
    presenter.emit(Queued(3))
    presenter.emit(Started())
    presenter.emit(Progress("upload", MB, 2 * MB, None, None))
    await presenter.finish(Delivered((SentFile("botapi", 2 * MB),)))
    assert ui.shown == []  # the file is the whole answer: nothing sent, nothing to delete


async def test_a_job_that_fails_within_the_quiet_period_gets_one_message() -> None:
    ui = UI()
    presenter = presenters(ui, quiet=60)(job(), None)
    presenter.emit(Started())
    await presenter.finish(Failed(FailureReason.DNS))
    [said] = ui.shown
    assert said.startswith("❌ The site&#x27;s name could not be found")


async def test_the_question_is_not_held_by_the_quiet_period() -> None:
    ui = UI()
    presenter = presenters(ui, quiet=60)(job(), None)
    presenter.emit(Started())
    presenter.emit(NeedChoice("Clip", None, 20))
    await until_shown(ui, 1)
    assert "Clip" in ui.shown[0]
    await presenter.finish(Cancelled())


async def test_queue_positions_cost_a_bounded_number_of_edits_whatever_the_queue_does() -> None:
    ui, clock = UI(), Clock()
    presenter = presenters(ui, clock, position_every=30, position_updates=2)(job(), None)
    presenter.emit(Queued(100))
    await until_shown(ui, 1)
    for position in range(99, 50, -1):  # the queue moves; not halved yet
        presenter.emit(Queued(position))
    presenter.emit(Queued(50))  # halved, but too soon after the last one
    clock.now += 31
    presenter.emit(Queued(49))  # halved and due: shown
    await until_shown(ui, 2)
    clock.now += 31
    presenter.emit(Queued(20))  # the second and last update
    await until_shown(ui, 3)
    clock.now += 31
    for position in range(19, 0, -1):  # never again, however far it moves
        presenter.emit(Queued(position))
    presenter.emit(Started())
    await until_shown(ui, 4)
    await presenter.finish(Delivered((SentFile("botapi", MB),)))

    assert ui.shown == [
        "🕒 In the queue: position 100.",
        "🕒 In the queue: position 49.",
        "🕒 In the queue: position 20.",
        "⏳ Working on your link…",
        "<deleted>",
    ]


async def test_a_default_format_keeps_the_others_offered_and_a_switch_goes_quietly() -> None:
    ui = UI()
    presenter = presenters(ui, interval=0.0)(job(), None)
    presenter.emit(Chosen("audio", preset=True))  # the user's default: no question
    await until_shown(ui, 1)
    presenter.emit(Progress("download", MB, 2 * MB, None, None))
    await until_shown(ui, 2)
    await presenter.finish(Cancelled(replaced=True))  # another format took the link over

    for buttons in ui.buttons:
        labels = [data for row in buttons or [] for _, data in row]
        assert labels == ["redo:5:best", "redo:5:small", "cancel:5"]
    assert ui.shown[-1] == "<deleted>"  # nothing said: the new job's message speaks


async def test_in_a_group_progress_is_edited_seldom_in_its_topic() -> None:
    ui, clock = UI(), Clock()
    grouped = dataclasses.replace(job(), chat_id=-100, thread_id=9)
    presenter = presenters(ui, clock, interval=0.0, group_interval=20.0)(grouped, 3)
    presenter.emit(Started())
    await until_shown(ui, 1)
    presenter.emit(Progress("download", MB, 2 * MB, None, None))
    await asyncio.sleep(0.05)
    assert len(ui.shown) == 1  # held: 20 s in a group
    clock.now += 20
    presenter.emit(Progress("download", 2 * MB, 2 * MB, None, None))
    await until_shown(ui, 2)
    await presenter.close()
    assert ui.threads == [9]  # its status message went into the link's topic
