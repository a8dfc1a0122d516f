"""What code that talks to chats asks of the outbound path: a priority, a turn, a slot.

`Lanes` is the face: Outbound (outbound.py) in the daemon, Direct where nothing is paced (unit
tests). See outbound.py's docstring for how turns are given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from enum import IntEnum
from typing import Protocol, TypeVar

T = TypeVar("T")

_STATUS_METHODS = frozenset({"sendchataction"})


class Priority(IntEnum):
    """Who goes first: lower values."""

    ANSWER = 0  # files, final answers, replies to commands and buttons
    QUESTION = 1  # the format question: the job waits for the user's pick
    NOTICE = 2  # the daily notices to admins: they must arrive, but after what users wait for
    STATUS = 3  # status, progress, queue positions, chat actions


class Dropped(Exception):
    """The call gave its place to a newer one of its slot, or was dropped: it was never made."""


def priority_of(endpoint: str) -> Priority:
    """The priority of a PTB call that did not say: a chat action is status, anything else an
    answer (a reply, a file, an edit of a message the user pressed a button on)."""
    return Priority.STATUS if endpoint.lower() in _STATUS_METHODS else Priority.ANSWER


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
