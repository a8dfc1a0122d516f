"""Wait for a condition on a fake's state without polling: checks re-run whenever it changes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")


class Waiters:
    """Futures parked on checks; `notify()` re-runs every check after a state change."""

    def __init__(self) -> None:
        self._entries: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

    async def wait(self, check: Callable[[], T | None], within: float | None) -> T | None:
        """Return the first non-None result of `check`, or None once `within` seconds elapse."""
        result = check()
        if result is not None:
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry: tuple[Callable[[], Any], asyncio.Future[Any]] = (check, future)
        self._entries.append(entry)
        try:
            async with asyncio.timeout(within):
                return cast("T", await future)
        except TimeoutError:
            return None
        finally:
            self._entries.remove(entry)

    def notify(self) -> None:
        """Re-run every parked check and wake those that are now satisfied."""
        for check, future in list(self._entries):
            if future.done():
                continue
            try:
                result = check()
            except Exception as exc:  # noqa: BLE001 - the waiting test sees it, not the server
                future.set_exception(exc)
                continue
            if result is not None:
                future.set_result(result)
