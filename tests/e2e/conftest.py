"""Fixtures that start the real daemon against the fake Bot API and media server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.e2e.daemon import MAIN, Daemon
from tests.fakes.bot_api import FakeBotApi

StartDaemon = Callable[..., Awaitable[Daemon]]
SEAMED_MAIN = Path(__file__).resolve().parent / "seamed_main.py"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def start_daemon(
    bot_api: FakeBotApi, data_dir: Path, tmp_path: Path
) -> AsyncIterator[StartDaemon]:
    """Starts `python main.py` with test settings (overridable) and waits until it polls;
    with TEST_DNS or TEST_MTPROTO among them, the daemon with those fakes (seamed_main.py)."""
    daemons: list[Daemon] = []

    async def start(wait: bool = True, **overrides: str) -> Daemon:
        env = {
            "BOT_TOKEN": bot_api.token,
            "TELEGRAM_API_URL": bot_api.url,
            "DATA_DIR": str(data_dir),
            "ALLOW_PRIVATE_URLS": "true",
            "CHOICE_TIMEOUT_SECONDS": "0",
            "POLL_STALL_SECONDS": "30",
            "LOG_LEVEL": "INFO",
        }
        env.update(overrides)
        seamed = {"TEST_DNS", "TEST_MTPROTO"} & overrides.keys()
        daemon = Daemon(env, cwd=tmp_path, main=SEAMED_MAIN if seamed else MAIN)
        daemons.append(daemon)
        await daemon.start()
        if wait:
            await daemon.wait_log("started version=", timeout=20)
        return daemon

    yield start
    for daemon in daemons:
        await daemon.stop()
