"""Whether Telegram answered a call with success, for a caller that could not read the answer.

PTB turns Telegram's answer into objects after the request layer has returned it; an answer of
a shape PTB does not expect (a video without its width, say) then raises an ordinary
exception, although Telegram performed the call. A send whose answer cannot be read is
therefore *delivered, unconfirmed* (the file is most likely in the chat; it is never sent a
second time), never a failure: the sender watches its call (`watch`) and the request layer
notes every answer it returns (`note`), in the same task.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
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
