"""Fixtures every test may use: a started fake Bot API, a started media server, and a real
redis-server of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer
from tests.redis_server import RedisServer


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    """A fake Bot API on a random loopback port; its `url` goes into TELEGRAM_API_URL."""
    async with FakeBotApi() as api:
        yield api


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
