"""What the request layer tells the task that made a call: that Telegram answered it with
success, and that it sends the call again.

The first is for a caller that could not read the answer.

PTB turns Telegram's answer into objects after the request layer has returned it; an answer of
a shape PTB does not expect (a video without its width, say) then raises an ordinary
exception, although Telegram performed the call. A send whose answer cannot be read is
therefore *delivered, unconfirmed* (the file is most likely in the chat; it is never sent a
second time), never a failure: the sender watches its call (`watch`) and the request layer
notes every answer it returns (`note`), in the same task.

The second is for the outbound path (outbound.py): a call sent again (a 5xx, an edit whose
answer was lost) counts against Telegram's limits as any call does (`retries_cost`, `retried`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class Answered:
    """Set once a call made inside the watch was answered with a 2xx status."""

    ok: bool = False


_WATCHED: contextvars.ContextVar[Answered | None] = contextvars.ContextVar(
    "answered", default=None
)


@contextlib.contextmanager
def watch() -> Iterator[Answered]:
    """Watch the Bot API calls this task makes inside the block."""
    seen = Answered()
    token = _WATCHED.set(seen)
    try:
        yield seen
    finally:
        _WATCHED.reset(token)


def note(status: int) -> None:
    """The request layer got `status` for a call of this task."""
    seen = _WATCHED.get()
    if seen is not None and 200 <= status < 300:
        seen.ok = True


_RETRIES: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "retries", default=None
)


@contextlib.contextmanager
def retries_cost(spend: Callable[[], None]) -> Iterator[None]:
    """Inside the block, each call this task sends again calls `spend` first."""
    token = _RETRIES.set(spend)
    try:
        yield
    finally:
        _RETRIES.reset(token)


def retried() -> None:
    """The request layer sends a call of this task again."""
    spend = _RETRIES.get()
    if spend is not None:
        spend()
