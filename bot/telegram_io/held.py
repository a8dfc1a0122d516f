"""A request body whose last byte waits for a fence: until it passes, Telegram never has a
whole request, so a send can still be stopped with nothing in the chat (a worker's claim,
remote/claim.py). The model is the streamed upload's growing file (upload/growing.py).

Telegram counts an upload when its last byte arrives. An upload takes its turn beside the
chat's other calls (telegram_io/outbound.py), so a 429 for one of them can come while the file
is on its way: its last byte then also waits until the chat (or the bot) is no longer paused,
or the upload would land inside the retry_after. The outbound path sets that wait
(`CHAT_CLEAR`) for the upload it runs; the request layer reads it in the same task. (A body
streamed while it downloads, upload/streaming.py, is not held for a pause: it reports itself
whole by its own bytes.)
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from telegram.request import RequestData

Fence = Callable[[], Awaitable[None]]

CHAT_CLEAR: contextvars.ContextVar[Fence | None] = contextvars.ContextVar(
    "chat_clear", default=None
)


def fence_of(data: RequestData | None) -> Fence | None:
    """What the last byte of a request with a file waits for: the file's own fence
    (upload/botapi.py's ProgressFile: `fence`), then the chat's pause (`CHAT_CLEAR`)."""
    if data is None or not data.contains_files:
        return None
    fences = [f for f in (_file_fence(data), CHAT_CLEAR.get()) if f is not None]
    return _in_turn(fences) if fences else None


def _file_fence(data: RequestData) -> Fence | None:
    for _name, content, _mime in data.multipart_data.values():
        fence = getattr(content, "fence", None)
        if fence is not None:
            return fence  # type: ignore[no-any-return]
    return None


def _in_turn(fences: list[Fence]) -> Fence:
    if len(fences) == 1:
        return fences[0]

    async def each() -> None:
        for fence in fences:
            await fence()

    return each


Holding = Callable[[bool], None]


def holders_of(data: RequestData) -> list[Holding]:
    """What the request's files do while their last byte is held (ProgressFile.holding: until
    it goes, the upload is not handed over, so a stop then leaves nothing in the chat)."""
    found = []
    for _name, content, _mime in data.multipart_data.values():
        holding = getattr(content, "holding", None)
        if callable(holding):
            found.append(holding)
    return found


class HeldBody(httpx.AsyncByteStream):
    """`body`'s bytes in order, the very last one only once `fence` has passed; `holders` are
    told when the hold begins (True) and ends (False)."""

    def __init__(
        self, body: httpx.AsyncByteStream, fence: Fence, holders: list[Holding] | None = None
    ) -> None:
        self._body = body
        self._fence = fence
        self._holders = holders or []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in self._body:
            if chunk:
                if pending:
                    yield pending
                pending = chunk
        if len(pending) > 1:
            yield pending[:-1]
        for holder in self._holders:
            holder(True)
        await self._fence()
        for holder in self._holders:
            holder(False)
        yield pending[-1:]

    async def aclose(self) -> None:
        await self._body.aclose()
