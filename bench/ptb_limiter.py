"""The daemon with PTB's own AIORateLimiter in place of the bot's outbound path, for
`python -m bench.burst --limiter ptb`: the same bot, only the limiter swapped.

AIORateLimiter (the `rate-limiter` extra, aiolimiter) keeps the whole bot to 30 calls a second
and each group to 20 a minute; it has no pace for one private chat and no priorities, and a 429
stops every call for retry_after. Here it retries a flooded call up to 5 times; the
presenters' own turns (`call`) just run their call, which goes through the limiter as any.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script (the bench's Daemon runs it as main.py)

from telegram.ext import AIORateLimiter  # noqa: E402

import bot.daemon.app  # noqa: E402
import bot.daemon.worker  # noqa: E402
from bot.telegram_io.lanes import Priority  # noqa: E402

T = TypeVar("T")


class PtbLimiter(AIORateLimiter):
    """AIORateLimiter, with the Lanes face the presenters and uploads call."""

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


def limiter() -> PtbLimiter:
    return PtbLimiter(max_retries=5)


if __name__ == "__main__":
    setattr(bot.daemon.app, "outbound_path", limiter)  # noqa: B010 - swapped for the bench
    setattr(bot.daemon.worker, "outbound_path", limiter)  # noqa: B010
    sys.argv = [str(ROOT / "main.py"), *sys.argv[1:]]
    runpy.run_path(str(ROOT / "main.py"), run_name="__main__")
