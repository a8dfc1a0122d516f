"""The fakes from the tests running in this process, and real daemons started against them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.e2e.daemon import MAIN, Daemon
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.flood import FloodRules
from tests.fakes.media_server import MediaServer
from tests.fakes.records import UPLOAD_METHODS

START_TIMEOUT = 30.0
LOG_POLL_S = 0.02


class Stack:
    """A fake Bot API and a media server on 127.0.0.1, and the daemons started against them."""

    def __init__(
        self,
        root: Path,
        static_dir: Path | None = None,
        *,
        local_mode: bool = False,
        flood: FloodRules | None = None,
    ) -> None:
        self.root = root
        # flood: Telegram's limits enforced (tests/fakes/flood.py); None: the lenient fake.
        self.api = FakeBotApi(local_mode=local_mode, flood=flood)
        self.media = MediaServer(static_dir)
        self.daemons: list[Daemon] = []

    async def __aenter__(self) -> Self:
        await self.api.start()
        await self.media.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for daemon in self.daemons:
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await daemon.stop()
        await self.media.stop()
        await self.api.stop()

    def env(self, data_dir: Path, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        """The settings the e2e tests use (no rate limit), with `overrides` on top."""
        env = {
            "BOT_TOKEN": self.api.token,
            "TELEGRAM_API_URL": self.api.url,
            "DATA_DIR": str(data_dir),
            "ALLOW_PRIVATE_URLS": "true",
            "CHOICE_TIMEOUT_SECONDS": "0",
            "POLL_STALL_SECONDS": "30",
            "RATE_LIMIT_PER_MINUTE": "0",
            "LOG_LEVEL": "INFO",
        }
        env.update(overrides or {})
        return env

    async def start_daemon(
        self,
        data_dir: Path,
        overrides: Mapping[str, str] | None = None,
        *,
        wait: bool = True,
        main: Path = MAIN,
    ) -> Daemon:
        """`python main.py` (this checkout's, or `main`) with bench settings; returns once it
        logged that it started."""
        daemon = Daemon(self.env(data_dir, overrides), cwd=self.root, main=main)
        self.daemons.append(daemon)
        await daemon.start()
        if wait:
            await daemon.wait_log("started version=", timeout=START_TIMEOUT)
        return daemon

    async def first_poll_after(self, count: int, within: float = START_TIMEOUT) -> float:
        """The monotonic time of the first getUpdates after `count` of them had been seen.

        The fake counts getUpdates and stamps the last one but has no event for it: poll the
        counter; the time returned is the fake's own stamp, so polling costs no precision.
        """
        async with asyncio.timeout(within):
            while True:
                if self.api.get_updates_count > count:
                    assert self.api.last_get_updates_at is not None
                    return self.api.last_get_updates_at
                await asyncio.sleep(LOG_POLL_S)

    async def call_seen(
        self, predicate: Callable[[Call], bool], within: float, *, after: int
    ) -> tuple[Call, float]:
        """The first call from `after` on matching `predicate`, and when the fake recorded it.

        Recorded means answered: for an upload, the whole body has been read and hashed.
        """
        seen: list[float] = []

        def check(call: Call) -> bool:
            if predicate(call):
                seen.append(time.monotonic())
                return True
            return False

        call = await self.api.wait_for(check, within, after=after)
        return call, seen[0]


def is_upload_to(chat_id: int) -> Callable[[Call], bool]:
    """An answered upload (a fresh file or a file_id resend) into `chat_id`."""
    return lambda c: c.method in UPLOAD_METHODS and c.ok and c.chat_id == chat_id


def is_text_to(chat_id: int) -> Callable[[Call], bool]:
    """An answered sendMessage into `chat_id`."""
    return lambda c: c.method == "sendMessage" and c.ok and c.chat_id == chat_id


async def wait_log_count(daemon: Daemon, needle: str, count: int, within: float) -> None:
    """Return once `count` log lines contain `needle`."""
    await daemon.wait_lines(needle, count, within)
