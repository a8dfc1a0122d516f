"""Why the daemon stops: the first reason given wins, and decides the exit code."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum


class ExitReason(StrEnum):
    SIGNAL = "signal"  # SIGTERM or SIGINT: a planned stop
    TOKEN_REJECTED = "token_rejected"  # noqa: S105 - getUpdates answered 401/404
    POLLING_STALLED = "polling_stalled"  # no getUpdates round trip for POLL_STALL_SECONDS
    # Not "startup_failed": that word marks the one line saying why, logged before the stop.
    FAILED_START = "failed_start"
    # A newer yt-dlp passed its self-test (YTDLP_UPDATE=auto, or the admin's button): a clean
    # stop that systemd's Restart=on-failure turns into a start with it.
    YTDLP_UPDATED = "ytdlp_updated"


RESTART_CODE = 75  # EX_TEMPFAIL: not an error, but systemd restarts the unit on it


@dataclass(frozen=True, slots=True)
class Exit:
    reason: ExitReason
    code: int  # 0 planned, 1 failure (systemd restarts), 2 configuration


class StopSignal:
    """Anyone may ask the daemon to stop; the lifecycle waits for the first request."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._exit: Exit | None = None

    def request(self, reason: ExitReason, code: int) -> None:
        if self._exit is None:
            self._exit = Exit(reason, code)
            self._event.set()

    @property
    def requested(self) -> Exit | None:
        return self._exit

    async def wait(self) -> Exit:
        await self._event.wait()
        assert self._exit is not None  # noqa: S101 - set before the event
        return self._exit
