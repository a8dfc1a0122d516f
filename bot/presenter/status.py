"""One job's status message: edits throttled, never with unchanged text, recreated if lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.telegram_io.chat import Buttons, ChatUI, NotSentError

log = logging.getLogger(__name__)

EDIT_INTERVAL_S = 3.0


class StatusMessage:
    """Holds the text the user should see; `show` is throttled, `final` goes out at once."""

    def __init__(
        self,
        ui: ChatUI,
        chat_id: int,
        message_id: int | None,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        interval: float = EDIT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ui = ui
        self.chat_id = chat_id
        self.message_id = message_id
        self._reply_to = reply_to
        self._thread_id = thread_id
        self._interval = interval
        self._clock = clock
        self._shown: tuple[str, Buttons | None] | None = None
        self._last_edit = float("-inf")
        self._lock = asyncio.Lock()

    def wait_s(self) -> float:
        """Seconds until a throttled edit may go out (0: now)."""
        return max(0.0, self._last_edit + self._interval - self._clock())

    async def show(
        self, text: str, buttons: Buttons | None = None, *, force: bool = False
    ) -> bool:
        """Show `text` unless it is what the message already says or an edit was too recent.

        Returns False only when the text did not go out and trying again later may work.
        """
        async with self._lock:
            wanted = (text, buttons)
            if wanted == self._shown:
                return True
            if not force and self.wait_s() > 0:
                return True
            try:
                await self._put(text, buttons)
            except NotSentError:
                return False
            return True

    async def final(self, text: str, buttons: Buttons | None = None) -> bool:
        """Show the job's last word at once; False when it did not go out (try again later)."""
        return await self.show(text, buttons, force=True)

    async def remove(self) -> None:
        async with self._lock:
            if self.message_id is not None:
                await self._ui.delete(self.chat_id, self.message_id)
                self.message_id = None
                self._shown = None

    async def _put(self, text: str, buttons: Buttons | None) -> None:
        self._last_edit = self._clock()
        if self.message_id is not None and await self._ui.edit(
            self.chat_id, self.message_id, text, buttons=buttons
        ):
            self._shown = (text, buttons)
            return
        self.message_id = await self._ui.send(
            self.chat_id, text, buttons=buttons, reply_to=self._reply_to, thread_id=self._thread_id
        )
        self._shown = (text, buttons) if self.message_id is not None else None
