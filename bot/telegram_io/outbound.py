"""One outbound path for every call into a chat: priorities, Telegram's pace, retry_after by scope.

Every Bot API call that names a chat goes through one Outbound: it is installed as PTB's rate
limiter (`ApplicationBuilder.rate_limiter`), so a handler's `reply_text`, an upload and the
presenter's edits all wait for their turn here; `getUpdates` and calls without a chat
(`answerCallbackQuery`, `setMyCommands`) are not paced.

How a turn is given:
- **Priorities** (`Priority`): files and answers first (what the user is waiting for), then
  the format question, then status (progress, queue positions, chat actions, daily notices).
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
import bisect
import contextlib
import contextvars
import itertools
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol, TypeVar

from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram_io.pacing import Bucket, Pace, is_group

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
_STATUS_METHODS = frozenset({"sendchataction"})
# Chats remembered before the idle ones with full buckets are forgotten.
CHATS_KEPT = 2048


class Priority(IntEnum):
    """Who goes first: lower values."""

    ANSWER = 0  # files, final answers, replies to commands and buttons
    QUESTION = 1  # the format question: the job waits for the user's pick
    STATUS = 2  # status, progress, queue positions, chat actions, daily notices


class Dropped(Exception):
    """The call gave its place to a newer one of its slot, or was dropped: it was never made."""


def priority_of(endpoint: str) -> Priority:
    """The priority of a PTB call that did not say: a chat action is status, anything else an
    answer (a reply, a file, an edit of a message the user pressed a button on)."""
    return Priority.STATUS if endpoint.lower() in _STATUS_METHODS else Priority.ANSWER


def flood_seconds(exc: RetryAfter) -> float:
    """A RetryAfter's wait, without PTB's deprecation warning for the int form."""
    return float(exc._retry_after.total_seconds())  # private, as in PTB's AIORateLimiter


class Lanes(Protocol):
    """What code that talks to chats needs of the outbound path (Outbound, or Direct)."""

    async def call(
        self,
        chat_id: int | str | None,
        priority: Priority,
        fn: Callable[[], Awaitable[T]],
        *,
        slot: Hashable | None = None,
        upload: bool = False,
        repeat: bool = True,
    ) -> T: ...

    def drop(self, slot: Hashable) -> None: ...


class Direct:
    """Lanes with no turns: `fn` runs at once (unit tests; a limiter of someone else's)."""

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
        return await fn()

    def drop(self, slot: Hashable) -> None:
        """Nothing waits here."""


@dataclass(eq=False, slots=True)
class _Waiting:
    priority: Priority
    seq: int
    chat: int | str
    upload: bool
    future: asyncio.Future[None]
    slot: Hashable | None = None

    @property
    def order(self) -> tuple[int, int]:
        return (self.priority, self.seq)


@dataclass(eq=False, slots=True)
class _Chat:
    bucket: Bucket
    paused_until: float = 0.0
    busy: bool = False  # a call other than an upload is on its way


@dataclass(slots=True)
class _Turn:
    """The turn the current task holds: PTB calls to its chat made inside it go at once."""

    chat: int | str
    calls: int = 0


_TURN: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("outbound_turn", default=None)


@dataclass(slots=True)
class _Flood:
    chat: int | str
    until: float


@dataclass
class OutboundStats:
    """What the outbound path has done, for the metrics and the tests."""

    floods: Counter[str] = field(default_factory=Counter)  # 429s by the scope paused
    dropped: int = 0  # slot calls replaced or dropped before their turn
    waited_s: float = 0.0  # turns' waits, summed


class Outbound(BaseRateLimiter[Priority]):
    """Gives each call into a chat its turn; see the module's docstring."""

    def __init__(self, pace: Pace | None = None, clock: Callable[[], float] = time.monotonic):
        self._pace = pace or Pace()
        self._clock = clock
        # Empty at start: the process before this one may have spent the bot's allowance (a
        # chat's is small and refills within seconds; a restart takes that long).
        self._bot = Bucket(self._pace.bot, 0.0, clock())
        self._bot_paused_until = 0.0
        self._chats: dict[int | str, _Chat] = {}
        self._pending: list[_Waiting] = []  # sorted by (priority, seq)
        self._slots: dict[Hashable, _Waiting] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._last_flood: _Flood | None = None
        self._granted: deque[float] = deque()  # when the calls of the last second went
        self._closed = False
        self.stats = OutboundStats()

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
        seq = next(self._seq)
        while True:
            await self._turn(chat_id, priority, seq, slot, upload)
            token = _TURN.set(_Turn(chat_id))
            try:
                return await fn()
            except RetryAfter as exc:
                wait = flood_seconds(exc)
                self._flooded(chat_id, wait)
                floods, waited = floods + 1, waited + wait
                if (
                    not repeat
                    or floods >= self._pace.max_floods
                    or (waited > self._pace.max_flood_wait_s)
                ):
                    raise
            finally:
                _TURN.reset(token)
                self._release(chat_id, upload)

    def drop(self, slot: Hashable) -> None:
        """Forget the call of `slot` still waiting for its turn (it raises Dropped)."""
        entry = self._slots.pop(slot, None)
        if entry is not None and not entry.future.done():
            self._forget(entry)
            self.stats.dropped += 1
            entry.future.set_exception(Dropped())

    async def close(self) -> None:
        """No more turns: calls still waiting raise NetworkError (not sent)."""
        self._closed = True
        for entry in list(self._pending):
            self._forget(entry)
            if not entry.future.done():
                entry.future.set_exception(NetworkError("the bot is stopping"))
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None:
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher

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
        chat = chat_of(data)
        held = _TURN.get()
        if held is not None and chat is not None and held.chat == chat:
            held.calls += 1
            if held.calls > 1:  # a second call in one turn costs what a call costs
                self._spend(chat)
            return await callback(*args, **kwargs)
        priority = rate_limit_args if rate_limit_args is not None else priority_of(endpoint)
        upload = endpoint.lower() in UPLOADS
        return await self.call(chat, priority, lambda: callback(*args, **kwargs), upload=upload)

    # --- turns ----------------------------------------------------------------------------

    async def _turn(
        self, chat: int | str, priority: Priority, seq: int, slot: Hashable | None, upload: bool
    ) -> None:
        if self._closed:
            raise NetworkError("the bot is stopping")
        entry = _Waiting(
            priority, seq, chat, upload, asyncio.get_running_loop().create_future(), slot
        )
        if slot is not None:
            older = self._slots.get(slot)
            if older is not None and not older.future.done():
                entry.seq = min(entry.seq, older.seq)  # the newer text keeps the older's place
                self._forget(older)
                self.stats.dropped += 1
                older.future.set_exception(Dropped())
            self._slots[slot] = entry
        bisect.insort(self._pending, entry, key=lambda e: e.order)
        began = self._clock()
        self._kick()
        try:
            await entry.future
        except BaseException:
            self._forget(entry)
            granted = entry.future.done() and not entry.future.cancelled()
            if granted and entry.future.exception() is None:  # granted, then cancelled
                self._release(chat, upload)
            raise
        finally:
            if slot is not None and self._slots.get(slot) is entry:
                del self._slots[slot]
        self.stats.waited_s += self._clock() - began

    def _forget(self, entry: _Waiting) -> None:
        with contextlib.suppress(ValueError):
            self._pending.remove(entry)

    def _kick(self) -> None:
        self._wake.set()
        if self._dispatcher is None and self._pending and not self._closed:
            self._dispatcher = asyncio.create_task(self._dispatch(), name="outbound")

    async def _dispatch(self) -> None:
        """Grants turns while calls wait: the first (by priority, then age) whose chat and the
        bot may take a call now; otherwise sleeps until one may, or something changes."""
        try:
            await self._grant_while_waiting()
        except Exception:  # task boundary: the callers must hear of it, not wait forever
            log.exception("outbound_failed")
            for entry in list(self._pending):
                self._forget(entry)
                if not entry.future.done():
                    entry.future.set_exception(NetworkError("the outbound path failed"))
        finally:
            if self._dispatcher is asyncio.current_task():
                self._dispatcher = None

    async def _grant_while_waiting(self) -> None:
        while self._pending:
            now = self._clock()
            # Every call needs the bot's bucket: while it is empty, nobody goes.
            soonest = max(self._bot_paused_until, self._bot.ready_at(now, 1.0))
            if soonest > now:
                await self._sleep(soonest - now)
                continue
            soonest = math.inf
            for entry in self._pending:
                at = self._ready_at(entry, now)
                if at <= now:
                    self._grant(entry, now)
                    break
                soonest = min(soonest, at)
            else:
                await self._sleep(None if soonest == math.inf else soonest - now)

    async def _sleep(self, seconds: float | None) -> None:
        """Until `seconds` have passed (None: no limit) or a call arrives, ends or is dropped."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(None if seconds is None else max(0.001, seconds)):
                await self._wake.wait()

    def _ready_at(self, entry: _Waiting, now: float) -> float:
        chat = self._chat(entry.chat, now)
        if chat.busy and not entry.upload:
            return math.inf  # the chat's call on its way ends with a kick
        need_chat, need_bot = 1.0, 1.0
        if entry.priority is Priority.STATUS:
            need_chat += self._pace.status_chat_reserve
            need_bot = max(1.0, self._pace.status_bot_share * self._pace.bot.burst)
        return max(
            self._bot_paused_until,
            chat.paused_until,
            chat.bucket.ready_at(now, need_chat),
            self._bot.ready_at(now, need_bot),
        )

    def _grant(self, entry: _Waiting, now: float) -> None:
        self._pending.remove(entry)
        chat = self._chat(entry.chat, now)
        chat.bucket.take(now)
        self._bot.take(now)
        self._granted.append(now)
        while self._granted[0] < now - 1.0:
            self._granted.popleft()
        if not entry.upload:
            chat.busy = True
        entry.future.set_result(None)

    def _release(self, chat_id: int | str, upload: bool) -> None:
        chat = self._chats.get(chat_id)
        if chat is not None and not upload:
            chat.busy = False
        self._kick()

    def _spend(self, chat_id: int | str) -> None:
        now = self._clock()
        self._chat(chat_id, now).bucket.take(now)
        self._bot.take(now)

    # --- floods ---------------------------------------------------------------------------

    def _flooded(self, chat_id: int | str, wait: float) -> None:
        """A 429 for a call into `chat_id`: pause the chat, or the whole bot, for `wait`."""
        now = self._clock()
        until = now + wait
        chat = self._chat(chat_id, now)
        chat.bucket.drain(now)
        chat.paused_until = max(chat.paused_until, until)
        last = self._last_flood
        elsewhere = last is not None and last.chat != chat_id and last.until > now
        while self._granted and self._granted[0] < now - 1.0:
            self._granted.popleft()
        near_limit = len(self._granted) >= 0.8 * self._pace.bot.per_s
        scope = "bot" if elsewhere or near_limit else "chat"
        if scope == "bot":
            self._bot.drain(now)
            self._bot_paused_until = max(self._bot_paused_until, until)
        self._last_flood = _Flood(chat_id, until)
        self.stats.floods[scope] += 1
        log.warning("bot_api_flood chat=%s retry_after=%.1f scope=%s", chat_id, wait, scope)
        self._kick()

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

    # --- chats ----------------------------------------------------------------------------

    def _chat(self, chat_id: int | str, now: float) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= CHATS_KEPT:
                self._forget_idle_chats(now)
            rate = self._pace.group if is_group(chat_id) else self._pace.private
            chat = self._chats[chat_id] = _Chat(Bucket(rate, rate.burst, now))
        return chat

    def _forget_idle_chats(self, now: float) -> None:
        waiting = {entry.chat for entry in self._pending}
        for chat_id, chat in list(self._chats.items()):
            idle = not chat.busy and chat.paused_until <= now and chat.bucket.full(now)
            if idle and chat_id not in waiting:
                del self._chats[chat_id]


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
