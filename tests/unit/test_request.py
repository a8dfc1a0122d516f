"""PTB's Bot over RetryingRequest against the fake Bot API: what a lost answer does to a send,
an edit and a streamed upload."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest

from bot.telegram_io.chat import NotSentError
from bot.telegram_io.failures import AnswerLostError
from bot.telegram_io.request import RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.telegram_io.ui import TelegramChatUI
from tests.fakes.bot_api import FakeBotApi, Loss

CHAT = 77
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02)


@pytest.fixture
async def bot(bot_api: FakeBotApi) -> AsyncIterator[Bot]:
    request = RetryingRequest(policy=FAST, read_timeout=0.5, media_write_timeout=5)
    async with Bot(bot_api.token, base_url=f"{bot_api.url}/bot", request=request) as ptb:
        yield ptb


async def test_a_message_whose_answer_was_lost_is_not_sent_again(
    bot: Bot, bot_api: FakeBotApi
) -> None:
    bot_api.lose_next("sendMessage")
    with pytest.raises(AnswerLostError):
        await bot.send_message(CHAT, "once")
    assert [m.text for m in bot_api.chat(CHAT)] == ["once"]
    assert len(bot_api.calls_of("sendMessage")) == 1


async def test_a_stalled_send_times_out_once_and_is_not_repeated(
    bot: Bot, bot_api: FakeBotApi
) -> None:
    bot_api.lose_next("sendMessage", how=Loss.STALL)
    with pytest.raises(AnswerLostError):
        await bot.send_message(CHAT, "once")
    assert len(bot_api.calls_of("sendMessage")) == 1


async def test_an_edit_whose_answer_was_lost_is_repeated(bot: Bot, bot_api: FakeBotApi) -> None:
    message = await bot.send_message(CHAT, "before")
    bot_api.lose_next("editMessageText")
    # The repeat finds the edit already made: Telegram says so, and that is the answer.
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("after", chat_id=CHAT, message_id=message.message_id)
    assert [m.text for m in bot_api.chat(CHAT)] == ["after"]
    assert len(bot_api.calls_of("editMessageText")) == 2


async def test_a_refused_send_is_retried_until_it_goes_through(
    bot: Bot, bot_api: FakeBotApi
) -> None:
    bot_api.fail_next("sendMessage", 500, count=2)
    await bot.send_message(CHAT, "hello")
    assert [m.text for m in bot_api.chat(CHAT)] == ["hello"]


async def test_a_streamed_upload_is_sent_whole_on_a_retry(
    bot: Bot, bot_api: FakeBotApi, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "clip.bin"
    path.write_bytes(data)
    bot_api.fail_next("sendDocument", 502)
    with path.open("rb") as handle:
        await bot.send_document(CHAT, InputFile(handle, read_file_handle=False))
    first, second = bot_api.calls_of("sendDocument")
    assert first.status == 502
    assert second.files["document"].sha256 == hashlib.sha256(data).hexdigest()
    assert second.files["document"].size == len(data)


async def test_a_streamed_upload_whose_answer_was_lost_is_in_the_chat_once(
    bot: Bot, bot_api: FakeBotApi, tmp_path: Path
) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(100_000))
    bot_api.lose_next("sendDocument")
    with path.open("rb") as handle, pytest.raises(AnswerLostError):
        await bot.send_document(CHAT, InputFile(handle, read_file_handle=False))
    assert len(bot_api.sent_files(CHAT)) == 1
    assert len(bot_api.calls_of("sendDocument")) == 1


async def test_chat_ui_tells_a_lost_answer_from_a_refusal_and_a_failure(
    bot: Bot, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    ui = TelegramChatUI(bot)
    bot_api.lose_next("sendMessage")
    assert await ui.send(CHAT, "maybe") is None  # most likely shown: not an error, not resent
    assert "send_unconfirmed" in caplog.text

    bot_api.blocked_chats.add(CHAT + 1)
    assert await ui.send(CHAT + 1, "never") is None  # the chat is gone: nothing to retry

    bot_api.fail_next("sendMessage", 500, count=FAST.attempts)
    with pytest.raises(NotSentError):
        await ui.send(CHAT, "later")  # the network failed: worth another try later
    assert [m.text for m in bot_api.chat(CHAT)] == ["maybe"]
