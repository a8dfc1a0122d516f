"""The pace the bot keeps to: Telegram's flood limits as token buckets, a little under them.

Telegram takes about 30 messages a second from a bot, about one a second in one private chat
(short bursts pass) and 20 a minute in a group; an edit or a delete counts like a message.
Past that it answers 429 with `retry_after`, and a bot that calls again too soon is punished
with longer waits. The buckets here are what the bot allows itself, kept under those numbers
so that arrival jitter at Telegram's end does not turn into a 429: a request counted here when
it leaves may be counted there a little later, after a refill the bot did not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Rate:
    """A bucket of `burst` calls refilled at `per_s` calls a second."""

    burst: float
    per_s: float


@dataclass(frozen=True, slots=True)
class Pace:
    """What the bot allows itself, and what status calls leave to the rest.

    Status calls (progress, queue positions) go only while the buckets keep a reserve, so a
    file or an answer that comes a moment later does not wait behind them: the bot's bucket
    above `status_bot_share` of its burst, the chat's above `status_chat_reserve` calls; and
    not while files and answers go at `status_answers_per_s` or more (a burst of links being
    answered: each status message would cost a send now and a delete a moment later).
    """

    bot: Rate = field(default_factory=lambda: Rate(27.0, 27.0))
    private: Rate = field(default_factory=lambda: Rate(3.0, 0.9))
    group: Rate = field(default_factory=lambda: Rate(18.0, 18.0 / 60.0))
    status_bot_share: float = 0.4
    status_chat_reserve: float = 1.0
    status_answers_per_s: float = 5.0
    # A 429 asking for longer than this gives the call up (the caller hears RetryAfter).
    max_flood_wait_s: float = 300.0
    # The most 429s one call takes before it is given up.
    max_floods: int = 8


class Bucket:
    """Calls available now; refilled continuously up to the burst."""

    __slots__ = ("_at", "_level", "rate")

    def __init__(self, rate: Rate, level: float, at: float) -> None:
        self.rate = rate
        self._level = min(rate.burst, level)
        self._at = at

    def level(self, now: float) -> float:
        refill = max(0.0, now - self._at) * self.rate.per_s
        self._level = min(self.rate.burst, self._level + refill)
        self._at = max(self._at, now)
        return self._level

    def ready_at(self, now: float, need: float) -> float:
        """When the level reaches `need` (now, if it has)."""
        level = self.level(now)
        if level >= need:
            return now
        return now + (need - level) / self.rate.per_s

    def take(self, now: float) -> None:
        self._level = self.level(now) - 1.0

    def drain(self, now: float) -> None:
        """Telegram answered 429: whatever this bucket thought it had, it has nothing."""
        self.level(now)
        self._level = min(self._level, 0.0)

    def full(self, now: float) -> bool:
        return self.level(now) >= self.rate.burst


def is_group(chat_id: int | str) -> bool:
    """A group, supergroup or channel (negative ids, or an @username): 20 a minute."""
    return isinstance(chat_id, str) or chat_id < 0
