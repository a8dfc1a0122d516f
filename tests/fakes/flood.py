"""Telegram's flood control, for the fake Bot API: token buckets, 429 with retry_after, and a
count of calls made into a running retry_after (violations).

Telegram limits every bot to about 30 messages a second overall, about one a second in one
private chat (short bursts pass) and 20 a minute in a group; editing or deleting a message
counts like sending one (python-telegram-bot's AIORateLimiter is built on the same numbers).
Past a limit it answers `429 Too Many Requests` with `parameters.retry_after`, whole seconds,
and a bot that calls again before they have passed is flooding.

Here every call that names a chat (`chat_id`) is counted when it reaches the method, that is
once its body has been read (an upload counts when its last byte arrived). A call finds the
whole bot's bucket and its chat's bucket; the first one empty answers 429 and opens a
retry_after window for its scope: the whole bot, or that one chat. A call into an open window
of its own scope (any chat call while the bot's is open) is a *violation*: recorded, and answered
429 with what is left of the window. Calls without a chat (getUpdates, answerCallbackQuery,
getMe) are never limited.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.errors import ApiError

# Chat methods that are not messages: asked any number of times.
UNLIMITED = frozenset({"getchat", "getchatmember", "getchatadministrators", "getchatmembercount"})


@dataclass(frozen=True, slots=True)
class FloodRules:
    """The limits: each a bucket of `burst` calls refilled at `rate` calls a second."""

    global_burst: float = 30.0
    global_rate: float = 30.0
    chat_burst: float = 3.0
    chat_rate: float = 1.0
    group_burst: float = 20.0
    group_rate: float = 20.0 / 60.0


@dataclass(frozen=True, slots=True)
class Violation:
    """A call made while a retry_after of its scope was still running."""

    method: str
    chat_id: int | str
    scope: str  # "bot" or "chat"
    early_s: float  # how long before the window's end it came


@dataclass(slots=True)
class _Bucket:
    burst: float
    rate: float
    level: float
    at: float

    def refill(self, now: float) -> None:
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now

    def wait_s(self) -> float:
        """Seconds until a whole call's worth is back."""
        return max(0.0, (1.0 - self.level) / self.rate)


class FloodControl:
    """One bot's buckets and open retry_after windows; `check` is called for each request."""

    def __init__(
        self, rules: FloodRules | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rules = rules or FloodRules()
        self._clock = clock
        self.counted = 0  # calls that named a chat
        self.limited: Counter[str] = Counter()  # 429s answered, by scope ("bot", "chat")
        self.violations: list[Violation] = []
        self._global: _Bucket | None = None
        self._chats: dict[int | str, _Bucket] = {}
        self._windows: dict[int | str | None, float] = {}  # None: the whole bot's window

    def reset(self) -> None:
        """Full buckets, no window open, nothing counted (a new run against the same fake)."""
        self.counted = 0
        self.limited.clear()
        self.violations.clear()
        self._global = None
        self._chats.clear()
        self._windows.clear()

    def check(self, method: str, params: dict[str, Any]) -> ApiError | None:
        """The 429 this call gets, or None when it may go on (and has been counted)."""
        chat = params.get("chat_id")
        if not isinstance(chat, int | str) or isinstance(chat, bool) or chat == "":
            return None
        if method.lower() in UNLIMITED:
            return None
        now = self._clock()
        self.counted += 1
        for scope, key in (("bot", None), ("chat", chat)):
            until = self._windows.get(key, 0.0)
            if now < until:
                self.violations.append(Violation(method, chat, scope, until - now))
                self.limited[scope] += 1
                return ApiError(429, retry_after=math.ceil(until - now))
        glob = self._global_bucket(now)
        mine = self._chat_bucket(chat, now)
        for scope, key, bucket in (("bot", None, glob), ("chat", chat, mine)):
            if bucket.level < 1.0:
                wait = max(1, math.ceil(bucket.wait_s()))
                self._windows[key] = now + wait
                self.limited[scope] += 1
                return ApiError(429, retry_after=wait)
        glob.level -= 1.0
        mine.level -= 1.0
        return None

    def _global_bucket(self, now: float) -> _Bucket:
        if self._global is None:
            r = self.rules
            self._global = _Bucket(r.global_burst, r.global_rate, r.global_burst, now)
        self._global.refill(now)
        return self._global

    def _chat_bucket(self, chat: int | str, now: float) -> _Bucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            r = self.rules
            group = isinstance(chat, str) or chat < 0
            burst, rate = (r.group_burst, r.group_rate) if group else (r.chat_burst, r.chat_rate)
            bucket = self._chats[chat] = _Bucket(burst, rate, burst, now)
        bucket.refill(now)
        return bucket
