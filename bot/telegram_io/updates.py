"""The update processor: PTB's bound on concurrent updates, and a line once an update is done.

The line (`update_done`, at DEBUG) marks the moment no handler of an update can still run: tests
of the gate wait for it instead of sleeping before they check that nothing acted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from telegram.ext import SimpleUpdateProcessor

log = logging.getLogger(__name__)


class LoggedUpdates(SimpleUpdateProcessor):
    """Awaits each update's handlers, then says it is done (at DEBUG; nothing at INFO)."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
        finally:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("update_done update=%s", getattr(update, "update_id", None))
