"""One job's face in the chat: its status message, driven by the job's events, and its last word.

Events come in without waiting (emit); a writer task of the presenter's own shows the latest
one. A change of state (queue position, work begun, the format question, the choice taken)
shows at once; progress at most once per EDIT_INTERVAL_S, the freshest figures winning, and
never twice the same text. Once the job has ended, `finish` says its last word: the status
message goes when the file is the answer, else it says how the job ended, retried on its own
when it did not go out (the outcome is recorded already, so a failure here never reruns it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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

log = logging.getLogger(__name__)

# A last message that did not go out (the request layer's own retries spent) is tried again
# after these pauses.
FINAL_RETRY_DELAYS_S = (5.0, 30.0)
# While the daemon stops, a job's last message gets one try this long: the jobs have 2 s of
# the stop's 3, and a job still talking would count as one that never stopped.
STOPPING_MESSAGE_S = 1.0

# Remembers a job's status message id, so that a restart edits the same message.
Remember = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PresenterConfig:
    interval: float = EDIT_INTERVAL_S
    final_retry_delays: tuple[float, ...] = FINAL_RETRY_DELAYS_S
    stopping_message_s: float = STOPPING_MESSAGE_S
    offer_pdf: bool = False  # PDF_PAGES: a page without media is offered as a PDF


@dataclass(frozen=True, slots=True)
class _View:
    text: str
    buttons: Buttons | None
    urgent: bool  # a change of state: not held back by the edit interval


class JobPresenter:
    """Owns one job's status message from its first event to its last word."""

    def __init__(
        self,
        job: Job,
        status: StatusMessage,
        tr: Translator,
        remember: Remember,
        config: PresenterConfig,
    ) -> None:
        self._job = job
        self._status = status
        self._tr = tr
        self._remember_id = remember
        self._cfg = config
        self._remembered = job.status_message_id
        self._wanted: _View | None = None
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._done = False
        # Parked (a site refused the job for now): the user was told once, and the message
        # keeps saying so, with its Cancel button, through the tries that follow; a try that
        # gets going shows its progress.
        self._parked = job.state is JobState.PARKED

    def emit(self, event: JobEvent) -> None:
        """Show `event` as soon as the edit rules allow; never waits."""
        if self._done:
            return
        view = self._view(event)
        if view is None:
            return
        self._wanted = view
        self._wake.set()
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name=f"status-{self._job.id}")

    async def finish(
        self, outcome: Outcome, *, stopping: bool = False, retry: bool = True
    ) -> None:
        """The job's last word. `stopping`: one try of at most STOPPING_MESSAGE_S (the daemon
        stops); `retry` False: one try (a job given up at start-up, one cancelled waiting)."""
        await self.close()
        text = texts.final_text(self._tr, outcome)
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
        self._done = True
        writer, self._writer = self._writer, None
        if writer is not None:
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
            return _View(texts.parked_text(tr, event.reason, event.hours), cancel, urgent=True)
        if self._parked and isinstance(event, Queued | Resumed | Started | Chosen):
            return None
        if isinstance(event, Queued):
            return _View(texts.queued_text(tr, event.position), cancel, urgent=True)
        if isinstance(event, Resumed):
            return _View(texts.resumed_text(tr), None, urgent=True)
        if isinstance(event, Started):
            printing = self._job.choice is FormatChoice.PDF
            text = texts.printing_text(tr) if printing else texts.working_text(tr)
            return _View(text, cancel, urgent=True)
        if isinstance(event, NeedChoice):
            text, buttons = texts.choice_prompt(tr, job_id, self._job.url, event)
            return _View(text, buttons, urgent=True)
        if isinstance(event, Chosen):
            return _View(texts.preparing_text(tr), cancel, urgent=True)
        if isinstance(event, Progress):
            return _View(texts.progress_text(tr, event), cancel, urgent=False)
        if isinstance(event, Delivering):
            return _View(
                texts.uploading_text(tr, event.part, event.parts, event.unit), cancel, urgent=False
            )
        return None

    async def _write(self) -> None:
        """Shows the latest wanted view until there is none; the task ends when idle."""
        try:
            while (view := self._wanted) is not None:
                wait = 0.0 if view.urgent else self._status.wait_s()
                if wait > 0:  # too soon after the last edit: wait, or for something newer
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._wake.wait()
                    continue
                self._wanted = None
                try:
                    await self._status.show(view.text, view.buttons, force=True)
                    await self._remember()
                except Exception:  # task boundary: a status edit must never end the job
                    log.exception("status_edit_failed id=%d", self._job.id)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _say(
        self, text: str | None, delays: tuple[float, ...], buttons: Buttons | None = None
    ) -> None:
        job_id = self._job.id
        if text is None:  # the file is the answer: the status message goes
            try:
                await self._status.remove()
            except Exception:  # the outcome is recorded; a stray status message is all we risk
                log.exception("status_remove_failed id=%d", job_id)
            return
        for attempt in range(len(delays) + 1):
            try:
                if await self._status.final(text, buttons):
                    return
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
        translator: Callable[[str], Translator],
        remember: Remember,
        config: PresenterConfig | None = None,
    ) -> None:
        self._ui = ui
        self._translator = translator
        self._remember = remember
        self._cfg = config or PresenterConfig()

    def __call__(self, job: Job, reply_to: int | None = None) -> JobPresenter:
        status = StatusMessage(
            self._ui,
            job.chat_id,
            job.status_message_id,
            reply_to=reply_to,
            interval=self._cfg.interval,
        )
        return JobPresenter(job, status, self._translator(job.language), self._remember, self._cfg)
