"""Who may call Telegram now: the line of calls waiting for a turn, and the pace they keep.

Outbound (outbound.py) makes the calls; this grants their turns. A turn goes to the first call,
by priority and then age, whose chat and the whole bot have room in their buckets (pacing.py)
and are not paused by a 429; a chat has one call on its way at a time, uploads aside; status
calls leave a reserve in both buckets. One dispatcher task grants turns while calls wait and
ends when none does.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from telegram.error import NetworkError

from bot.telegram_io.lanes import Dropped, Priority
from bot.telegram_io.pacing import Bucket, Pace, is_group

log = logging.getLogger(__name__)

# Chats remembered before the idle ones with full buckets are forgotten.
CHATS_KEPT = 2048


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
    # Uploads on their way: Telegram counts one when its last byte has arrived, so its call is
    # taken from the bucket then; a call beside it needs a full bucket (at least one to spare).
    uploads: int = 0


@dataclass(slots=True)
class _Flood:
    chat: int | str
    until: float


@dataclass
class OutboundStats:
    """What the outbound path has done, for the metrics and the tests."""

    floods: Counter[str] = field(default_factory=Counter)  # 429s by the scope paused
    dropped: int = 0  # slot calls replaced or dropped before their turn


class Turns:
    """The line of calls waiting for their turn, every chat's bucket and pause, the bot's."""

    def __init__(self, pace: Pace, clock: Callable[[], float] = time.monotonic) -> None:
        self._pace = pace
        self._clock = clock
        # Empty at start: the process before this one may have spent the bot's allowance (a
        # chat's is small and refills within seconds; a restart takes that long).
        self._bot = Bucket(pace.bot, 0.0, clock())
        self._bot_paused_until = 0.0
        self._chats: dict[int | str, _Chat] = {}
        self._pending: list[_Waiting] = []  # sorted by (priority, seq)
        self._slots: dict[Hashable, _Waiting] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._last_flood: _Flood | None = None
        self._granted: deque[float] = deque()  # when the calls of the last second went
        self._answered: deque[float] = deque()  # when the answers of the last second went
        self._closed = False
        self.stats = OutboundStats()

    def ticket(self) -> int:
        """A call's place in line, kept when a 429 sends it back to wait."""
        return next(self._seq)

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

    async def wait(
        self, chat: int | str, priority: Priority, seq: int, slot: Hashable | None, upload: bool
    ) -> None:
        """Until the call may go: by priority, then age, when its chat and the bot have room;
        raises Dropped when a newer call of its slot took its place, or `drop` forgot it."""
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
        self._kick()
        try:
            await entry.future
        except BaseException:
            self._forget(entry)
            granted = entry.future.done() and not entry.future.cancelled()
            if granted and entry.future.exception() is None:  # granted, then cancelled
                self.release(chat, upload)
            raise
        finally:
            if slot is not None and self._slots.get(slot) is entry:
                del self._slots[slot]

    def _forget(self, entry: _Waiting) -> None:
        with contextlib.suppress(ValueError):
            self._pending.remove(entry)

    def _kick(self) -> None:
        self._wake.set()
        if self._dispatcher is None and self._pending and not self._closed:
            self._dispatcher = asyncio.create_task(self._dispatch(), name="outbound-turns")

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
                if entry.future.done():  # its waiter was cancelled: it leaves the line itself
                    continue
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
        need_chat, need_bot, busy_until = 1.0, 1.0, now
        if entry.priority is Priority.STATUS:
            need_chat += self._pace.status_chat_reserve
            need_bot = max(1.0, self._pace.status_bot_share * self._pace.bot.burst)
            busy_until = self._answers_busy_until(now)
        if chat.uploads and not entry.upload:
            # A call beside an upload goes only into a full bucket: if Telegram counted more
            # than the bot did and answered it 429, the upload would arrive inside the window.
            need_chat = chat.bucket.rate.burst
        return max(
            self._bot_paused_until,
            chat.paused_until,
            chat.bucket.ready_at(now, need_chat),
            self._bot.ready_at(now, need_bot),
            busy_until,
        )

    def _answers_busy_until(self, now: float) -> float:
        """While files and answers go at `status_answers_per_s` or faster, status waits: a
        queue that moves that fast is over before its positions would be worth their calls."""
        recent = _last_second(self._answered, now)
        allowed = max(1, int(self._pace.status_answers_per_s))
        if len(recent) < allowed:
            return now
        return recent[len(recent) - allowed] + 1.0

    def _grant(self, entry: _Waiting, now: float) -> None:
        self._pending.remove(entry)
        chat = self._chat(entry.chat, now)
        if entry.upload:
            chat.uploads += 1
        else:
            chat.bucket.take(now)
        self._bot.take(now)
        _last_second(self._granted, now).append(now)
        if entry.priority is not Priority.STATUS:
            _last_second(self._answered, now).append(now)
        if not entry.upload:
            chat.busy = True
        entry.future.set_result(None)

    def release(self, chat_id: int | str, upload: bool) -> None:
        """The call that had the turn is done: its chat may take the next one."""
        chat = self._chats.get(chat_id)
        if chat is not None and upload:
            chat.uploads -= 1
            chat.bucket.take(self._clock())
        elif chat is not None:
            chat.busy = False
        self._kick()

    def spend(self, chat_id: int | str) -> None:
        """A second call made within one turn, or a call sent again by the request layer: it
        costs what a call costs."""
        now = self._clock()
        self._chat(chat_id, now).bucket.take(now)
        self._bot.take(now)

    # --- floods ---------------------------------------------------------------------------

    def flooded(self, chat_id: int | str, wait: float) -> None:
        """A 429 for a call into `chat_id`: pause the chat, or the whole bot, for `wait`
        (the bot when it was near its own limit, or another chat was flooded meanwhile)."""
        now = self._clock()
        until = now + wait
        chat = self._chat(chat_id, now)
        chat.bucket.drain(now)
        chat.paused_until = max(chat.paused_until, until)
        last = self._last_flood
        elsewhere = last is not None and last.chat != chat_id and last.until > now
        near_limit = len(_last_second(self._granted, now)) >= 0.8 * self._pace.bot.per_s
        scope = "bot" if elsewhere or near_limit else "chat"
        if scope == "bot":
            self._bot.drain(now)
            self._bot_paused_until = max(self._bot_paused_until, until)
        self._last_flood = _Flood(chat_id, until)
        self.stats.floods[scope] += 1
        log.warning("bot_api_flood chat=%s retry_after=%.1f scope=%s", chat_id, wait, scope)
        self._kick()

    async def clear(self, chat_id: int | str) -> None:
        """Until neither `chat_id` nor the bot is paused by a 429: what an upload's last byte
        waits for (telegram_io/held.py), since Telegram counts the upload when it arrives."""
        waited = 0.0
        while True:
            now = self._clock()
            chat = self._chats.get(chat_id)
            until = max(self._bot_paused_until, chat.paused_until if chat is not None else 0.0)
            if until <= now:
                break
            waited += until - now
            await asyncio.sleep(until - now)
        if waited:
            log.info("upload_last_byte_held chat=%s seconds=%.2f", chat_id, waited)

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
            idle = not (chat.busy or chat.uploads) and chat.paused_until <= now
            idle = idle and chat.bucket.full(now)
            if idle and chat_id not in waiting:
                del self._chats[chat_id]


def _last_second(times: deque[float], now: float) -> deque[float]:
    """`times` without those older than a second."""
    while times and times[0] < now - 1.0:
        times.popleft()
    return times
