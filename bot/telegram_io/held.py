"""A request body whose last byte waits for a fence: until it passes, Telegram never has a
whole request, so a send can still be stopped with nothing in the chat (a worker's claim,
remote/claim.py). The model is the streamed upload's growing file (upload/growing.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from telegram.request import RequestData

Fence = Callable[[], Awaitable[None]]


def fence_of(data: RequestData | None) -> Fence | None:
    """The fence of a file in the request's body, if one has one (upload/botapi.py's
    ProgressFile: `fence`)."""
    if data is None or not data.contains_files:
        return None
    for _name, content, _mime in data.multipart_data.values():
        fence = getattr(content, "fence", None)
        if fence is not None:
            return fence  # type: ignore[no-any-return]
    return None


class HeldBody(httpx.AsyncByteStream):
    """`body`'s bytes in order, the very last one only once `fence` has passed."""

    def __init__(self, body: httpx.AsyncByteStream, fence: Fence) -> None:
        self._body = body
        self._fence = fence

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in self._body:
            if chunk:
                if pending:
                    yield pending
                pending = chunk
        if len(pending) > 1:
            yield pending[:-1]
        await self._fence()
        yield pending[-1:]

    async def aclose(self) -> None:
        await self._body.aclose()
