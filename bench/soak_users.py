"""The soak's simulated users: each sends one thing at a time and waits for what it leads to."""

from __future__ import annotations

import asyncio
import contextlib
import html
import random
import time
from dataclasses import dataclass, field
from enum import StrEnum

from bench.soak_traffic import CANCELLABLE, Action, Traffic
from bench.stack import Stack
from tests.fakes.bot_api import Call
from tests.fakes.media_server import MediaServer
from tests.fakes.records import UPLOAD_METHODS

TEXT_METHODS = frozenset({"sendMessage", "editMessageText"})
THINK_MEAN_S = 1.5
THINK_MAX_S = 6.0
CANCEL_RATIO = 0.25  # of the cancellable links
BUTTON_WAIT_S = 20.0


class Outcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"  # a ❌ message saying why
    CANCELLED = "cancelled"
    REFUSED = "refused"  # per-user limit, queue full, restarting, rate limit
    ERROR_REPLY = "error_reply"  # the global error handler's "Something went wrong"
    ANSWERED = "answered"  # a reply to text or a command
    LOST = "lost"  # nothing the user could notice by the end of the drain


# The first words of each final message of a link, as the bot sends them (HTML source).
FINAL_TEXTS: tuple[tuple[str, Outcome], ...] = (
    ("✖️ Cancelled", Outcome.CANCELLED),
    ("❌", Outcome.FAILED),
    ("⚠️", Outcome.ERROR_REPLY),
    ("⏳ You already have", Outcome.REFUSED),
    ("🚦", Outcome.REFUSED),
    ("🔄 The bot is restarting. Please", Outcome.REFUSED),
    ("🐢", Outcome.REFUSED),
)
# Messages about a job on its way or its end: never an answer to a command. ("📨": a file
# sent whose answer was lost; the upload itself already ended its link's request.)
JOB_TEXTS = ("⏳", "🕒", "⏸", "🔄", "<b>Downloading", "<b>Uploading", "🎞", "✖️", "❌", "📨")


@dataclass
class Request:
    """One thing a user sent and how it ended."""

    user: int
    action: Action
    sent_at: float
    outcome: Outcome | None = None
    seconds: float | None = None
    cancel_pressed: bool = False
    intact: bool | None = None  # a fresh upload's bytes matched the source
    final_message: int | None = None  # the message that said failed or cancelled
    final_prefix: str = ""
    overwritten: str | None = None  # what that message says at the end, if no longer that
    strays: list[str] = field(default_factory=list)  # finals that belonged to another request


@dataclass
class Budget:
    """The most requests all users together may send."""

    left: int

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class User:
    """One simulated user, sending until `until` and waiting for outcomes until `deadline`."""

    def __init__(self, stack: Stack, traffic: Traffic, user_id: int, seed: int) -> None:
        self.stack = stack
        self.traffic = traffic
        self.id = user_id
        self.rng = random.Random(seed * 1_000_003 + user_id)
        self.requests: list[Request] = []

    async def run(self, until: float, deadline: float, budget: Budget) -> None:
        n = 0
        while time.monotonic() < until and budget.take():
            action = self.traffic.next(self.rng, self.id, n)
            n += 1
            request = Request(self.id, action, time.monotonic())
            self.requests.append(request)
            if not await self._send(request, deadline):
                return  # lost: this user waits no more, so nothing later is misattributed
            await asyncio.sleep(min(self.rng.expovariate(1 / THINK_MEAN_S), THINK_MAX_S))

    async def _send(self, request: Request, deadline: float) -> bool:
        api = self.stack.api
        mark = api.mark()
        request.sent_at = time.monotonic()
        api.push_message(self.id, request.action.text)
        cancel = None
        if request.action.kind in CANCELLABLE and self.rng.random() < CANCEL_RATIO:
            cancel = asyncio.create_task(self._press_cancel(request, mark))
        try:
            call, seen = await self.stack.call_seen(
                lambda c: self._final(request, c),
                max(0.0, deadline - time.monotonic()),
                after=mark,
            )
        except TimeoutError:
            request.outcome = Outcome.LOST
            return False
        finally:
            if cancel is not None:
                cancel.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await cancel
        request.seconds = seen - request.sent_at
        if request.outcome is Outcome.DELIVERED:
            request.intact = await _intact(request.action, call)
        return True

    def _final(self, request: Request, call: Call) -> bool:
        """Whether `call` ends `request`; sets its outcome. Runs inside the fake's notify."""
        if not call.ok or call.chat_id != self.id:
            return False
        text = str(call.params.get("text", "")) if call.method in TEXT_METHODS else None
        if not request.action.kind.is_link:
            if call.method == "sendMessage" and text and not text.startswith(JOB_TEXTS):
                error = text.startswith("⚠️")
                request.outcome = Outcome.ERROR_REPLY if error else Outcome.ANSWERED
                return True
            return False
        if call.method in UPLOAD_METHODS:
            caption = str(call.params.get("caption", ""))
            if html.escape(request.action.text, quote=True) in caption:
                request.outcome = Outcome.DELIVERED
                return True
            request.strays.append(f"{call.method} caption={caption[:120]!r}")
            return False
        for prefix, outcome in FINAL_TEXTS if text else ():
            if text is not None and text.startswith(prefix):
                request.outcome = outcome
                if outcome in (Outcome.FAILED, Outcome.CANCELLED):
                    request.final_prefix = prefix
                    request.final_message = self._message_of(call, prefix)
                return True
        return False

    def _message_of(self, call: Call, prefix: str) -> int | None:
        """The message a final text went into: the edited one, or the newest that says it."""
        if call.method == "editMessageText":
            message_id = call.params.get("message_id")
            return message_id if isinstance(message_id, int) else None
        saying = [
            m.message_id for m in self.stack.api.chat(self.id) if m.content.startswith(prefix)
        ]
        return max(saying, default=None)

    def check_finals(self) -> None:
        """After the drain: each failed or cancelled link must still say so in the chat."""
        messages = {m.message_id: m.content for m in self.stack.api.chat(self.id)}
        for request in self.requests:
            if request.final_message is None:
                continue
            content = messages.get(request.final_message)
            if content is None or not content.startswith(request.final_prefix):
                request.overwritten = "deleted" if content is None else content[:80]

    async def _press_cancel(self, request: Request, mark: int) -> None:
        """Press this request's Cancel button a moment after it appears, if it still shows."""

        def has_cancel(call: Call) -> bool:
            return (
                call.ok
                and call.chat_id == self.id
                and call.method in TEXT_METHODS
                and cancel_data(call.params.get("reply_markup")) is not None
            )

        with contextlib.suppress(TimeoutError):
            call, _ = await self.stack.call_seen(has_cancel, BUTTON_WAIT_S, after=mark)
            data = cancel_data(call.params.get("reply_markup"))
            await asyncio.sleep(self.rng.uniform(0.0, 2.5))
            for message in self.stack.api.chat(self.id):
                shown = [b.get("callback_data") for b in message.buttons]
                if data in shown and request.outcome is None:
                    self.stack.api.push_callback(self.id, message.message_id, str(data))
                    request.cancel_pressed = True
                    return


def cancel_data(markup: object) -> str | None:
    """The `cancel:<job>` callback data of an inline keyboard, if it has that button."""
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            data = button.get("callback_data") if isinstance(button, dict) else None
            if isinstance(data, str) and data.startswith("cancel:"):
                return data
    return None


async def _intact(action: Action, call: Call) -> bool | None:
    """Whether an uploaded file holds the source's bytes; None for a file_id resend."""
    parts = [f for name, f in call.files.items() if name != "thumbnail"]
    if not parts:
        return None
    if action.sha256 is not None:
        return parts[0].sha256 == action.sha256
    if action.file_name is None:
        return None
    expected = await asyncio.to_thread(
        MediaServer.expected_sha256, action.file_name, action.file_size
    )
    return parts[0].sha256 == expected
