"""A fenced upload through PTB's Bot and RetryingRequest against the fake Bot API: the request's
last byte waits for the fence, so Telegram has nothing until it passes, and a send stopped
before it leaves nothing in the chat (telegram_io/held.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot, InputFile
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.telegram_io.lanes import Priority
from bot.telegram_io.outbound import Outbound
from bot.telegram_io.request import RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.upload.progress_file import ProgressFile
from tests.fakes.bot_api import FakeBotApi

CHAT = 78
SIZE = 300_000
CONTENT = os.urandom(SIZE)
PAUSE_S = 0.5


@pytest.fixture
async def bot(bot_api: FakeBotApi) -> AsyncIterator[Bot]:
    policy = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
    request = RetryingRequest(policy=policy, read_timeout=5, media_write_timeout=5)
    async with Bot(bot_api.token, base_url=f"{bot_api.url}/bot", request=request) as ptb:
        yield ptb


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "held.bin"
    path.write_bytes(CONTENT)
    return path


class Gate:
    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.open = asyncio.Event()

    async def fence(self) -> None:
        self.reached.set()
        await self.open.wait()


def send(bot: Bot, data: Path, gate: Gate, seen: list[int]) -> asyncio.Task[object]:
    body = ProgressFile(str(data), SIZE, lambda done, _total: seen.append(done), fence=gate.fence)
    document = InputFile(body, filename="held.bin", read_file_handle=False)
    return asyncio.create_task(bot.send_document(CHAT, document))


async def test_the_last_byte_goes_once_the_fence_passes(
    bot: Bot, bot_api: FakeBotApi, data: Path
) -> None:
    gate, seen = Gate(), list[int]()
    sending = send(bot, data, gate, seen)
    await asyncio.wait_for(gate.reached.wait(), 10)
    assert SIZE in seen  # every byte was read from the file...
    # ...but while the last one is held the upload shows one short: not handed over, so a stop
    # now is a send that never happened (jobs/progress.py handed_over), not an unknown one.
    assert seen[-1] == SIZE - 1
    assert not bot_api.calls_of("sendDocument")  # Telegram has no whole request yet
    gate.open.set()
    await sending
    assert seen[-1] == SIZE
    [call] = bot_api.calls_of("sendDocument")
    assert call.files["document"].sha256 == hashlib.sha256(CONTENT).hexdigest()


async def test_a_send_stopped_at_its_fence_leaves_nothing_in_the_chat(
    bot: Bot, bot_api: FakeBotApi, data: Path
) -> None:
    gate, seen = Gate(), list[int]()
    sending = send(bot, data, gate, seen)
    await asyncio.wait_for(gate.reached.wait(), 10)
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    hung_up = await bot_api.wait_for(lambda c: c.method == "sendDocument", timeout=10)
    assert hung_up.status == 499
    assert not bot_api.chat(CHAT)


async def test_an_uploads_last_byte_waits_out_a_429_its_chat_got_meanwhile(
    bot_api: FakeBotApi, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Telegram counts an upload when its last byte arrives: one that arrives while its chat is
    # paused by a 429 (for a call made beside it) is a call into a running retry_after.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    outbound = Outbound()
    policy = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
    request = RetryingRequest(policy=policy, read_timeout=5, media_write_timeout=5)
    async with ExtBot(
        bot_api.token, base_url=f"{bot_api.url}/bot", request=request, rate_limiter=outbound
    ) as ptb:
        gate, seen = Gate(), list[int]()
        sending = send(ptb, data, gate, seen)
        await asyncio.wait_for(gate.reached.wait(), 10)

        async def refused() -> None:
            raise RetryAfter(dt.timedelta(seconds=PAUSE_S))

        with pytest.raises(RetryAfter):
            await outbound.call(CHAT, Priority.ANSWER, refused, repeat=False)
        paused_until = time.monotonic() + PAUSE_S
        gate.open.set()
        await sending
        answered_at = time.monotonic()  # the fake answers once it has the last byte
    assert answered_at >= paused_until
    [call] = bot_api.calls_of("sendDocument")
    assert call.files["document"].sha256 == hashlib.sha256(CONTENT).hexdigest()


async def test_an_upload_telegram_refused_is_not_handed_over_until_it_goes_again(
    bot: Bot, bot_api: FakeBotApi, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refused upload (a 429 here) left nothing in the chat: while it waits for its retry a
    # stop must find it not handed over (jobs/progress.py), or the user who pressed Cancel is
    # told nothing and gets nothing.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    bot_api.fail_next("sendDocument", 429, count=2, retry_after=1)  # every try the bot makes
    gate, seen = Gate(), list[int]()
    gate.open.set()
    with pytest.raises(RetryAfter):
        await send(bot, data, gate, seen)
    assert SIZE in seen  # the whole body went...
    assert seen[-1] == SIZE - 1  # ...and was refused: one short until a retry sends it again
    assert not bot_api.chat(CHAT)
