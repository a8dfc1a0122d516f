"""One job's face in the chat: its status message, driven by the job's events, and its last word.

Events come in without waiting (emit); a writer task of the presenter's own shows the newest
one when the outbound path (telegram_io/outbound.py) gives it a turn at status priority, so a
file or an answer never waits behind it, and a pending edit is simply dropped when the job
ends first. What the rules below cost: a link delivered within the quiet period makes no
status call at all; a queued job one send, at most `position_updates` edits of its position,
one edit when it starts, one per EDIT_INTERVAL_S of progress, and its last word.

- **Quiet period**: nothing is shown until the job is QUIET_S old (a link that delivers
  within about 2 s sends no status message); the format question alone goes at once, as a
  question (its priority is above status).
- **Queue positions**: shown with the status message once the quiet period is over, then
  edited only when the position has at least halved since it was shown, at least
  POSITION_EVERY_S after the last time, and at most POSITION_UPDATES times.
- **Progress**: at most one edit per EDIT_INTERVAL_S, the freshest figures winning, never twice
  the same text. Other changes of state (work begun, the choice taken) go at their next turn.
- **Last word** (`finish`): the status message goes when the file is the answer, else it says
  how the job ended; a last word that did not go out is tried again on its own (the outcome is
  recorded already, so a failure here never reruns the job).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram.error import TelegramError

from bot.i18n import Translator
from bot.jobs.events import (
    Chosen,
    Delivering,
    JobEvent,
    NeedChoice,
    Progress,
    Queued,
    Resumed,
    RetryLater,
    Started,
)
from bot.jobs.outcomes import Outcome
from bot.model.job import FormatChoice, Job, JobState
from bot.presenter import texts
from bot.presenter.status import EDIT_INTERVAL_S, StatusMessage
from bot.telegram_io.chat import Buttons, ChatUI
from bot.telegram_io.lanes import Dropped, Lanes, Priority

log = logging.getLogger(__name__)

QUIET_S = 2.0  # a job this young shows nothing (but a question)
# A group allows 20 messages a minute, edits included, for all its links: progress is shown
# there this seldom.
GROUP_EDIT_INTERVAL_S = 20.0
POSITION_EVERY_S = 30.0  # the least time between two edits of a queue position
POSITION_UPDATES = 2  # the most edits of a queue position after it was first shown
# A last message that did not go out (the request layer's own retries spent) is tried again
# after these pauses.
FINAL_RETRY_DELAYS_S = (5.0, 30.0)
# While the daemon stops, a job's last message gets one try this long: the jobs have 2 s of
# the stop's 3, and a job still talking would count as one that never stopped.
STOPPING_MESSAGE_S = 1.0
# How long the last word waits for a status edit already on its way (it may create the
# message the last word then edits or deletes).
IN_FLIGHT_WAIT_S = 5.0

# Remembers a job's status message id, so that a restart edits the same message.
Remember = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PresenterConfig:
    interval: float = EDIT_INTERVAL_S
    group_interval: float = GROUP_EDIT_INTERVAL_S  # progress edits in a group
    quiet: float = QUIET_S
    position_every: float = POSITION_EVERY_S
    position_updates: int = POSITION_UPDATES
    final_retry_delays: tuple[float, ...] = FINAL_RETRY_DELAYS_S
    stopping_message_s: float = STOPPING_MESSAGE_S
    offer_pdf: bool = False  # PDF_PAGES: a page without media is offered as a PDF


@dataclass(frozen=True, slots=True)
class _View:
    text: str
    buttons: Buttons | None
    throttled: bool = False  # progress: held back by the edit interval
    question: bool = False  # the format question: at once, at question priority
    position: int | None = None  # a queue position: the text is made when it is shown


class JobPresenter:
    """Owns one job's status message from its first event to its last word."""

    def __init__(
        self,
        job: Job,
        status: StatusMessage,
        tr: Translator,
        lanes: Lanes,
        remember: Remember,
        config: PresenterConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._job = job
        self._status = status
        self._tr = tr
        self._lanes = lanes
        self._remember_id = remember
        self._cfg = config
        self._clock = clock
        self._born = clock()
        self._slot = ("status", job.id)
        self._remembered = job.status_message_id
        self._wanted: _View | None = None
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._in_flight = False
        self._done = False
        # Parked (a site refused the job for now): the user was told once, and the message
        # keeps saying so, with its Cancel button, through the tries that follow; a try that
        # gets going shows its progress.
        self._parked = job.state is JobState.PARKED
        # A format settled by the user's default: the others are offered while it downloads.
        self._others: Buttons = []
        self._shown_position: int | None = None
        self._position_at = float("-inf")
        self._position_updates = 0

    def emit(self, event: JobEvent) -> None:
        """Show `event` as soon as the rules allow; never waits."""
        if self._done:
            return
        view = self._view(event)
        if view is None:
            return
        self._wanted = view
        self._wake.set()
        if view.question and self._writer is not None and not self._in_flight:
            # The writer may be waiting for a status turn: the question asks for a better one.
            self._writer.cancel()
            self._writer = None
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name=f"status-{self._job.id}")

    async def finish(
        self, outcome: Outcome, *, stopping: bool = False, retry: bool = True
    ) -> None:
        """The job's last word. `stopping`: one try of at most STOPPING_MESSAGE_S (the daemon
        stops); `retry` False: one try (a job given up at start-up, one cancelled waiting)."""
        await self._close(self._cfg.stopping_message_s if stopping else IN_FLIGHT_WAIT_S)
        text = texts.final_text(self._tr, outcome, more_note=self._job.prefs.more_note)
        job, buttons = self._job, None
        if self._cfg.offer_pdf and job.choice is not FormatChoice.PDF:
            buttons = texts.final_buttons(self._tr, outcome, job.link_id)
        if stopping:
            try:
                async with asyncio.timeout(self._cfg.stopping_message_s):
                    await self._say(text, (), buttons)
            except TimeoutError:
                log.warning("final_message_cut_short id=%d (stopping)", self._job.id)
        else:
            await self._say(text, self._cfg.final_retry_delays if retry else (), buttons)
        await self._remember()

    async def close(self) -> None:
        """No more edits (the job ended, or the daemon stops while it waits)."""
        await self._close(self._cfg.stopping_message_s)

    async def _close(self, patience: float) -> None:
        """Drops the edit waiting for its turn; one on its way gets `patience` to land."""
        self._done = True
        self._wake.set()
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if self._in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(writer), patience)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer

    def _view(self, event: JobEvent) -> _View | None:
        tr, job_id = self._tr, self._job.id
        cancel = texts.cancel_buttons(tr, job_id)
        if isinstance(event, RetryLater):
            first, self._parked = not self._parked, True
            if not first:
                return None
            return _View(texts.parked_text(tr, event.reason, event.hours), cancel)
        if self._parked and isinstance(event, Queued | Resumed | Started | Chosen):
            return None
        if isinstance(event, Queued):
            return self._queued(event.position, cancel)
        if isinstance(event, Resumed):
            return _View(texts.resumed_text(tr), None)
        if isinstance(event, Started):
            printing = self._job.choice is FormatChoice.PDF
            text = texts.printing_text(tr) if printing else texts.working_text(tr)
            return _View(text, cancel)
        if isinstance(event, NeedChoice):
            text, buttons = texts.choice_prompt(tr, job_id, self._job.url, event)
            return _View(text, buttons, question=True)
        if isinstance(event, Chosen):
            if event.preset:
                self._others = texts.other_formats(tr, job_id, event.choice)
            return _View(texts.preparing_text(tr), self._others + cancel)
        if isinstance(event, Progress):
            others = self._others if event.phase == "download" else []
            return _View(texts.progress_text(tr, event), others + cancel, throttled=True)
        if isinstance(event, Delivering):
            text = texts.uploading_text(tr, event.part, event.parts, event.unit)
            return _View(text, cancel, throttled=True)
        return None

    def _queued(self, position: int, cancel: Buttons) -> _View | None:
        """A new queue position: worth showing by the rule in the module's docstring?"""
        shown = self._shown_position
        if shown is not None:
            halved = position <= shown // 2
            due = self._clock() - self._position_at >= self._cfg.position_every
            if not (halved and due and self._position_updates < self._cfg.position_updates):
                return None
        elif (wanted := self._wanted) is not None and wanted.position is None:
            return None  # something newer than the queue is waiting to be shown
        return _View("", cancel, position=position)

    def _hold_s(self, view: _View) -> float:
        """How long `view` must wait before it may take its turn (0: now)."""
        if view.question:
            return 0.0
        if self._status.message_id is None:
            quiet = self._born + self._cfg.quiet - self._clock()
            if quiet > 0:
                return quiet
        return self._status.wait_s() if view.throttled else 0.0

    async def _write(self) -> None:
        """Shows the newest wanted view until there is none; the task ends when idle."""
        try:
            while (view := self._wanted) is not None and not self._done:
                wait = self._hold_s(view)
                if wait > 0:  # too soon: wait, or for something newer
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._wake.wait()
                    continue
                priority = Priority.QUESTION if view.question else Priority.STATUS
                try:
                    await self._lanes.call(
                        self._status.chat_id, priority, self._show_newest, slot=self._slot
                    )
                    await self._remember()
                except (Dropped, TelegramError) as exc:  # dropped, or Telegram's flood wait
                    log.info("status_edit_skipped id=%d error=%r", self._job.id, exc)
                except Exception:  # task boundary: a status edit must never end the job
                    log.exception("status_edit_failed id=%d", self._job.id)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _show_newest(self) -> None:
        """The turn has come: show what is wanted now, which may be newer than what waited."""
        view = self._wanted
        if view is None or self._done:
            return
        self._wanted = None
        text = view.text
        if view.position is not None:
            text = texts.queued_text(self._tr, view.position)
        self._in_flight = True
        try:
            await self._status.show(text, view.buttons, force=True)
        except BaseException:
            if self._wanted is None:  # a 429: it waits for its turn again, unless outdated
                self._wanted = view
            raise
        finally:
            self._in_flight = False
        if view.position is not None:
            if self._shown_position is not None:
                self._position_updates += 1
            self._shown_position, self._position_at = view.position, self._clock()

    async def _say(
        self, text: str | None, delays: tuple[float, ...], buttons: Buttons | None = None
    ) -> None:
        job_id, chat = self._job.id, self._status.chat_id
        if text is None:  # the file is the answer: the status message goes
            if self._status.message_id is None:
                return  # none was shown: nothing to take back
            try:
                await self._lanes.call(chat, Priority.ANSWER, self._status.remove)
            except Exception:  # the outcome is recorded; a stray status message is all we risk
                log.exception("status_remove_failed id=%d", job_id)
            return
        for attempt in range(len(delays) + 1):
            try:
                said = functools.partial(self._status.final, text, buttons)
                if await self._lanes.call(chat, Priority.ANSWER, said):
                    return
            except TelegramError as exc:  # the outbound path gave up on Telegram's flood waits
                log.warning("final_message_flooded id=%d error=%r", job_id, exc)
            except Exception:  # the outcome is recorded; log the bug, do not undo the job
                log.exception("final_message_failed id=%d", job_id)
                return
            if attempt == len(delays):
                break
            log.warning(
                "final_message_not_sent id=%d attempt=%d retry_in=%.0f",
                job_id,
                attempt + 1,
                delays[attempt],
            )
            await asyncio.sleep(delays[attempt])
        log.error("final_message_gave_up id=%d attempts=%d", job_id, len(delays) + 1)

    async def _remember(self) -> None:
        message_id = self._status.message_id
        if message_id is not None and message_id != self._remembered:
            self._remembered = message_id
            await self._remember_id(self._job.id, message_id)


class Presenters:
    """Makes each job's presenter: the engine's ObserverFactory."""

    def __init__(
        self,
        ui: ChatUI,
        lanes: Lanes,
        translator: Callable[[str], Translator],
        remember: Remember,
        config: PresenterConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ui = ui
        self._lanes = lanes
        self._translator = translator
        self._clock = clock
        self._remember = remember
        self._cfg = config or PresenterConfig()

    def __call__(self, job: Job, reply_to: int | None = None) -> JobPresenter:
        group = job.chat_id < 0
        status = StatusMessage(
            self._ui,
            job.chat_id,
            job.status_message_id,
            reply_to=reply_to,
            thread_id=job.thread_id,
            interval=self._cfg.group_interval if group else self._cfg.interval,
            clock=self._clock,
        )
        tr = self._translator(job.language)
        return JobPresenter(job, status, tr, self._lanes, self._remember, self._cfg, self._clock)
