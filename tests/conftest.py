"""Fixtures every test may use: a started fake Bot API, a started media server, and a real
redis-server of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.fakes.flood import FloodRules
from tests.fakes.media_server import MediaServer
from tests.redis_server import RedisServer


@pytest.fixture
async def bot_api(request: pytest.FixtureRequest) -> AsyncIterator[FakeBotApi]:
    """A fake Bot API on a random loopback port; its `url` goes into TELEGRAM_API_URL.

    Lenient, unless the test is marked `flood`: then it answers as Telegram's flood control
    does (tests/fakes/flood.py), and the test fails if the bot called into a running
    retry_after.
    """
    flood = FloodRules() if request.node.get_closest_marker("flood") else None
    async with FakeBotApi(flood=flood) as api:
        yield api
        if api.flood is not None:
            assert api.flood.violations == [], f"calls into a retry_after: {api.flood.violations}"


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """The folder `media` serves under /static/ (put ffmpeg-made files here)."""
    folder = tmp_path / "static"
    folder.mkdir()
    return folder


@pytest.fixture
async def media(media_dir: Path) -> AsyncIterator[MediaServer]:
    """A media server on a random loopback port, serving `media_dir` under /static/."""
    async with MediaServer(media_dir) as server:
        yield server


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """redis-server on 127.0.0.1 and a free port, its data in the test's folder."""
    async with RedisServer(tmp_path / "redis") as server:
        yield server
