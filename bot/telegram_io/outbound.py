"""One outbound path for every call into a chat: priorities, Telegram's pace, retry_after by scope.

Every Bot API call that names a chat goes through one Outbound: it is installed as PTB's rate
limiter (`ApplicationBuilder.rate_limiter`), so a handler's `reply_text`, an upload and the
presenter's edits all wait for their turn here; `getUpdates` and calls without a chat
(`answerCallbackQuery`, `setMyCommands`) are not paced.

How a turn is given:
- **Priorities** (`Priority`): files and answers first (what the user is waiting for), then
  the format question, then the daily notices to admins, then status (progress, queue
  positions, chat actions).
  Within a priority, the oldest call first. A call that waits for its chat never holds up a
  call for another chat.
- **Pace** (pacing.py): one bucket for the whole bot (27 a second) and one per chat (3 at once,
  then 0.9 a second; groups 18 then 18 a minute), under Telegram's limits. Status calls go only
  while both buckets keep a reserve, so a file never waits behind a progress bar.
- **One call at a time in a chat**, uploads aside (they may take minutes; an edit of the
  progress goes meanwhile). So a 429 for a chat never finds a second call on its way there.
- **retry_after by scope**: a 429 pauses the chat it came from for `retry_after`; when the bot
  was near its own limit (80% of its calls a second went in the last second), or another chat
  was flooded within that window, the whole bot pauses.
  The call then waits for its turn again (a 429 means Telegram did not perform it). A call is
  given up (RetryAfter raised) after `max_floods` 429s or `max_flood_wait_s` of waiting.
- **Status is state** (`slot`): a call given a slot key replaces the call of that key still
  waiting (the older one raises Dropped, never made; the newer takes its place in line), and
  `drop(slot)` forgets it. The function is called when the turn comes, so it can read the
  newest state then.

The API for code that talks to chats (a presenter, a handler, a group's quiet status):

    result = await outbound.call(chat_id, Priority.STATUS, lambda: bot.edit_message_text(...),
                                 slot=("status", job_id))
    outbound.drop(("status", job_id))  # the file went first: the pending edit is not needed

PTB calls made inside `fn` (in the same task) go out at once: the turn is theirs. A PTB call
made anywhere else takes a turn of its own, at the priority of its method (`priority_of`), or
at the one given as `rate_limit_args=Priority.X`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram_io.answers import retries_cost
from bot.telegram_io.held import CHAT_CLEAR
from bot.telegram_io.lanes import Priority, priority_of
from bot.telegram_io.pacing import Pace
from bot.telegram_io.turns import OutboundStats, Turns

log = logging.getLogger(__name__)

T = TypeVar("T")
JSON = bool | dict[str, Any] | list[dict[str, Any]]

# Methods that carry a file: they may take minutes, so they do not hold their chat's turn.
UPLOADS = frozenset(
    name.lower()
    for name in (
        "sendDocument",
        "sendVideo",
        "sendAudio",
        "sendAnimation",
        "sendPhoto",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendSticker",
    )
)


# Methods that name a chat but put nothing into it: Telegram does not count them as messages.
UNPACED = frozenset(
    name.lower()
    for name in ("getChat", "getChatMember", "getChatAdministrators", "getChatMemberCount")
)


def flood_seconds(exc: RetryAfter) -> float:
    """A RetryAfter's wait, without PTB's deprecation warning for the int form."""
    return float(exc._retry_after.total_seconds())  # private, as in PTB's AIORateLimiter


@dataclass(slots=True)
class _Turn:
    """The turn the current task holds: PTB calls to its chat made inside it go at once."""

    chat: int | str
    calls: int = 0


_TURN: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("outbound_turn", default=None)


class Outbound(BaseRateLimiter[Priority]):
    """Gives each call into a chat its turn; see the module's docstring."""

    def __init__(self, pace: Pace | None = None, clock: Callable[[], float] = time.monotonic):
        self._pace = pace or Pace()
        self._turns = Turns(self._pace, clock)

    @property
    def stats(self) -> OutboundStats:
        return self._turns.stats

    # --- the API --------------------------------------------------------------------------

    async def call(
        self,
        chat_id: int | str | None,
        priority: Priority,
        fn: Callable[[], Awaitable[T]],
        *,
        slot: Hashable | None = None,
        upload: bool = False,
        repeat: bool = True,
    ) -> T:
        """Run `fn` (one call into the chat) when its turn comes; again after a 429 unless
        `repeat` is False (a body that cannot be sent twice: the RetryAfter is raised, the
        scope paused all the same). Raises Dropped when its slot was taken by a newer call or
        dropped."""
        if chat_id is None:
            return await self._unpaced(fn)
        floods, waited = 0, 0.0
        seq = self._turns.ticket()
        while True:
            await self._turns.wait(chat_id, priority, seq, slot, upload)
            token = _TURN.set(_Turn(chat_id))
            last_byte = functools.partial(self._turns.clear, chat_id) if upload else None
            clear = CHAT_CLEAR.set(last_byte)
            try:
                with retries_cost(lambda: self._turns.spend(chat_id)):
                    return await fn()
            except RetryAfter as exc:
                wait = flood_seconds(exc)
                self._turns.flooded(chat_id, wait)
                floods, waited = floods + 1, waited + wait
                if (
                    not repeat
                    or floods >= self._pace.max_floods
                    or (waited > self._pace.max_flood_wait_s)
                ):
                    raise
            finally:
                CHAT_CLEAR.reset(clear)
                _TURN.reset(token)
                self._turns.release(chat_id, upload)

    def drop(self, slot: Hashable) -> None:
        """Forget the call of `slot` still waiting for its turn (it raises Dropped)."""
        self._turns.drop(slot)

    async def close(self) -> None:
        """No more turns: calls still waiting raise NetworkError (not sent)."""
        await self._turns.close()

    # --- PTB's rate limiter ---------------------------------------------------------------

    async def initialize(self) -> None:
        """Nothing to open: the dispatcher starts with the first call that has to wait."""

    async def shutdown(self) -> None:
        await self.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> JSON:
        chat = None if endpoint.lower() in UNPACED else chat_of(data)
        held = _TURN.get()
        if held is not None and chat is not None and held.chat == chat:
            held.calls += 1
            if held.calls > 1:  # a second call in one turn costs what a call costs
                self._turns.spend(chat)
            return await callback(*args, **kwargs)
        priority = rate_limit_args if rate_limit_args is not None else priority_of(endpoint)
        upload = endpoint.lower() in UPLOADS
        return await self.call(chat, priority, lambda: callback(*args, **kwargs), upload=upload)

    async def _unpaced(self, fn: Callable[[], Awaitable[T]]) -> T:
        """A call without a chat: not paced; a 429 is waited out, as often as the pace allows."""
        floods = 0
        while True:
            try:
                return await fn()
            except RetryAfter as exc:
                floods += 1
                wait = flood_seconds(exc)
                if floods >= self._pace.max_floods or wait > self._pace.max_flood_wait_s:
                    raise
                log.warning("bot_api_flood chat=none retry_after=%.0f", wait)
                await asyncio.sleep(wait)


def chat_of(data: dict[str, Any]) -> int | str | None:
    """The chat a call's parameters name: an id, an @username, or None."""
    value = data.get("chat_id")
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    with contextlib.suppress(ValueError):
        return int(text)
    return text or None
