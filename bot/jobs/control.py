"""A running job's handles: its stop signal and its format choice, shared by the engine that
owns the job and the pipeline that runs it."""

from __future__ import annotations

import asyncio
import contextlib

from bot.download.cancel import CancelToken, StopReason
from bot.model.job import FormatChoice


class JobControl:
    """Set from outside (Cancel, a restart, the user's pick); read by the pipeline."""

    def __init__(self) -> None:
        self.cancel = CancelToken()
        self._choice: asyncio.Future[FormatChoice] | None = None

    def stop(self, reason: StopReason) -> None:
        self.cancel.cancel(reason)

    @property
    def asking(self) -> bool:
        """Whether the job waits for the user's format choice now."""
        return self._choice is not None and not self._choice.done()

    def choose(self, choice: FormatChoice) -> bool:
        """Hand the pipeline the user's pick; False when it is not asking (any more)."""
        if self._choice is None:
            return False
        if not self._choice.done():
            self._choice.set_result(choice)
        return True

    async def wait_choice(self, seconds: float) -> FormatChoice | None:
        """The user's pick, or None when `seconds` pass without one."""
        self._choice = asyncio.get_running_loop().create_future()
        try:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(self._choice), seconds)
            return None
        finally:
            self._choice = None
