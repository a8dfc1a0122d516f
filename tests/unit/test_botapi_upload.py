"""BotApiUploader (PTB's Bot over RetryingRequest) against the fake Bot API: files arrive intact,
failures say why."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot

from bot.model.failures import (
    DeliveryError,
    FailureReason,
    StaleFileIdError,
    UnconfirmedDeliveryError,
)
from bot.model.media import MediaInfo, MediaKind
from bot.telegram_io.request import RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.telegram_io.timeouts import upload_read_timeout
from bot.upload.botapi import BotApiUploader
from bot.upload.types import Delivery
from tests.fakes.bot_api import FakeBotApi, Loss

CHAT = 4242
MB = 1024 * 1024
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02)


class Progress:
    """Collects progress reports."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def __call__(self, current: int, total: int) -> None:
        self.seen.append((current, total))


def make_file(path: Path, size: int) -> tuple[Path, str]:
    data = os.urandom(size)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def delivery(
    path: Path, info: MediaInfo | None = None, chat_id: int = CHAT, reply_to: int | None = None
) -> Delivery:
    return Delivery(
        chat_id=chat_id,
        path=path,
        filename=path.name,
        caption="<b>done</b>",
        size=path.stat().st_size,
        info=info or MediaInfo(),
        reply_to=reply_to,
    )


@contextlib.asynccontextmanager
async def ptb(url: str, token: str, *, local_mode: bool = False) -> AsyncIterator[Bot]:
    """PTB's Bot as the daemon builds it: every call through RetryingRequest."""
    request = RetryingRequest(policy=FAST, read_timeout=5, media_write_timeout=5)
    bot = Bot(token, base_url=f"{url}/bot", request=request, local_mode=local_mode)
    try:
        yield bot
    finally:
        await request.shutdown()


@pytest.fixture
async def uploader(bot_api: FakeBotApi) -> AsyncIterator[BotApiUploader]:
    async with ptb(bot_api.url, bot_api.token) as bot:
        yield BotApiUploader(bot)


async def test_five_megabytes_arrive_intact_with_progress(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, sha = make_file(tmp_path / "data.bin", 5 * MB)
    progress = Progress()

    delivered = await uploader.send(delivery(path), progress)

    call = bot_api.calls_of("sendDocument")[-1]
    assert call.ok
    assert call.files["document"].sha256 == sha
    assert call.files["document"].size == 5 * MB
    assert call.files["document"].filename == "data.bin"
    assert call.params["caption"] == "<b>done</b>"
    assert call.params["parse_mode"] == "HTML"
    message = bot_api.chat(CHAT)[-1]
    assert (delivered.message_id, delivered.file_id) == (message.message_id, message.file_id)
    assert (delivered.kind, delivered.route) == (MediaKind.DOCUMENT, "botapi")
    assert progress.seen[-1] == (5 * MB, 5 * MB)
    assert [c for c, _ in progress.seen] == sorted(c for c, _ in progress.seen)


async def test_video_goes_with_its_parameters_and_thumbnail(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, sha = make_file(tmp_path / "clip.mp4", 300_000)
    thumb, thumb_sha = make_file(tmp_path / "clip.mp4.thumb.jpg", 5_000)
    info = MediaInfo(
        MediaKind.VIDEO, duration=12, width=640, height=360, thumbnail=thumb, streaming=True
    )

    delivered = await uploader.send(delivery(path, info, reply_to=77), Progress())

    call = bot_api.calls_of("sendVideo")[-1]
    assert call.ok
    assert call.files["video"].sha256 == sha
    assert call.files["thumbnail"].sha256 == thumb_sha
    assert call.params["duration"] == 12
    assert (call.params["width"], call.params["height"]) == (640, 360)
    assert call.params["supports_streaming"] is True
    # A reply to the user's link, sent all the same if that message is gone.
    assert call.params["reply_parameters"] == {
        "message_id": 77,
        "allow_sending_without_reply": True,
    }
    assert delivered.kind is MediaKind.VIDEO


async def test_streaming_is_claimed_only_for_an_mp4_with_its_index_first(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, _ = make_file(tmp_path / "late.mp4", 10_000)
    info = MediaInfo(MediaKind.VIDEO, duration=2, width=64, height=48, streaming=False)

    await uploader.send(delivery(path, info), Progress())

    call = bot_api.calls_of("sendVideo")[-1]
    assert "supports_streaming" not in call.params
    assert "reply_parameters" not in call.params  # no link message known: not a reply


async def test_audio_sends_title_and_performer(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, _ = make_file(tmp_path / "song.m4a", 10_000)
    info = MediaInfo(MediaKind.AUDIO, duration=3, title="Song", performer="Band")

    delivered = await uploader.send(delivery(path, info), Progress())

    call = bot_api.calls_of("sendAudio")[-1]
    assert (call.params["title"], call.params["performer"], call.params["duration"]) == (
        "Song",
        "Band",
        3,
    )
    assert delivered.kind is MediaKind.AUDIO


async def test_flood_waits_are_waited_out(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, sha = make_file(tmp_path / "a.bin", 200_000)
    bot_api.fail_next("sendDocument", 429, count=2, retry_after=0)

    await uploader.send(delivery(path), Progress())

    calls = bot_api.calls_of("sendDocument")
    assert [c.status for c in calls] == [429, 429, 200]
    assert calls[-1].files["document"].sha256 == sha  # re-streamed from the start


async def test_server_errors_are_retried(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, sha = make_file(tmp_path / "a.bin", 200_000)
    bot_api.fail_next("sendDocument", 500, count=2)

    await uploader.send(delivery(path), Progress())

    calls = bot_api.calls_of("sendDocument")
    assert [c.status for c in calls] == [500, 500, 200]
    assert calls[-1].files["document"].sha256 == sha


async def test_an_upload_whose_answer_was_lost_is_not_sent_again(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, sha = make_file(tmp_path / "a.bin", 200_000)
    bot_api.lose_next("sendDocument")

    with caplog.at_level(logging.WARNING), pytest.raises(UnconfirmedDeliveryError):
        await uploader.send(delivery(path), Progress())

    [call] = bot_api.calls_of("sendDocument")
    assert call.answer_lost
    assert [f.sha256 for f in bot_api.sent_files(CHAT)] == [sha]  # in the chat, once
    assert "bot_api_answer_unknown method=sendDocument choice=not_retried" in caplog.text


async def test_a_stalled_upload_answer_is_waited_for_then_not_sent_again(
    bot_api: FakeBotApi, tmp_path: Path
) -> None:
    path, _ = make_file(tmp_path / "a.bin", 50_000)
    bot_api.lose_next("sendDocument", how=Loss.STALL)

    async with ptb(bot_api.url, bot_api.token) as bot:
        uploader = BotApiUploader(bot, answer_timeout=0.1)
        with pytest.raises(UnconfirmedDeliveryError):
            await uploader.send(delivery(path), Progress())

    assert len(bot_api.calls_of("sendDocument")) == 1
    assert len(bot_api.sent_files(CHAT)) == 1


async def test_a_resend_whose_answer_was_lost_is_not_sent_again(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, _ = make_file(tmp_path / "a.bin", 1000)
    first = await uploader.send(delivery(path), Progress())
    bot_api.lose_next("sendDocument")

    with pytest.raises(UnconfirmedDeliveryError):
        await uploader.resend(CHAT + 1, MediaKind.DOCUMENT, first.file_id, "again")

    assert len(bot_api.calls_of("sendDocument", CHAT + 1)) == 1


def test_the_wait_for_an_answer_grows_with_the_file() -> None:
    small, large = upload_read_timeout(100_000), upload_read_timeout(50 * MB)
    assert 60 <= small < 61  # three ordinary answer timeouts of 20 s
    assert large == pytest.approx(260)  # plus 50 MB stored at 256 KB/s
    assert upload_read_timeout(50 * MB, answer_timeout=1) == pytest.approx(203)


async def test_too_large_says_so(tmp_path: Path) -> None:
    path, _ = make_file(tmp_path / "big.bin", 3 * MB)
    async with FakeBotApi(upload_limit=1 * MB) as api, ptb(api.url, api.token) as bot:
        uploader = BotApiUploader(bot)
        with pytest.raises(DeliveryError) as caught:
            await uploader.send(delivery(path), Progress())
    assert caught.value.reason is FailureReason.TOO_LARGE_FOR_TELEGRAM
    assert caught.value.params == {"size": 3 * MB, "limit": 50 * MB}


async def test_blocked_chat_is_unavailable(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, _ = make_file(tmp_path / "a.bin", 1000)
    bot_api.blocked_chats.add(CHAT)

    with pytest.raises(DeliveryError) as caught:
        await uploader.send(delivery(path), Progress())

    assert caught.value.reason is FailureReason.CHAT_UNAVAILABLE


async def test_missing_chat_is_unavailable_without_a_document_retry(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, _ = make_file(tmp_path / "a.mp4", 1000)
    bot_api.missing_chats.add(CHAT)
    info = MediaInfo(MediaKind.VIDEO, duration=3, width=10, height=10)

    with pytest.raises(DeliveryError) as caught:
        await uploader.send(delivery(path, info), Progress())

    assert caught.value.reason is FailureReason.CHAT_UNAVAILABLE
    assert bot_api.calls_of("sendDocument") == []


async def test_refused_video_falls_back_to_document(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, sha = make_file(tmp_path / "bad.mp4", 50_000)
    bot_api.fail_next("sendVideo", 400, description="Bad Request: VIDEO_CONTENT_TYPE_INVALID")
    info = MediaInfo(MediaKind.VIDEO, duration=3, width=10, height=10)

    delivered = await uploader.send(delivery(path, info), Progress())

    assert delivered.kind is MediaKind.DOCUMENT
    assert bot_api.calls_of("sendDocument")[-1].files["document"].sha256 == sha


async def test_other_errors_carry_telegrams_description(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, _ = make_file(tmp_path / "a.bin", 1000)
    bot_api.fail_next("sendDocument", 400, description="Bad Request: something odd")

    with pytest.raises(DeliveryError) as caught:
        await uploader.send(delivery(path), Progress())

    assert caught.value.reason is FailureReason.UPLOAD_FAILED
    # Telegram's description, as PTB words it (without "Bad Request: ", capitalised)
    assert caught.value.detail == "Something odd"


async def test_resend_by_file_id(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    path, _ = make_file(tmp_path / "a.bin", 1000)
    first = await uploader.send(delivery(path), Progress())

    again = await uploader.resend(CHAT, MediaKind.DOCUMENT, first.file_id, "again")

    assert again.file_id == first.file_id
    assert again.message_id != first.message_id
    call = bot_api.calls_of("sendDocument")[-1]
    assert call.files == {}
    assert call.params["document"] == first.file_id


async def test_resend_with_unknown_file_id_is_stale(uploader: BotApiUploader) -> None:
    with pytest.raises(StaleFileIdError):
        await uploader.resend(CHAT, MediaKind.VIDEO, "BAACAgIAAxkDAAI-gone", "again")


async def test_local_mode_sends_the_path(tmp_path: Path) -> None:
    path, sha = make_file(tmp_path / "local.bin", 100_000)
    progress = Progress()
    async with FakeBotApi(local_mode=True) as api, ptb(api.url, api.token, local_mode=True) as bot:
        uploader = BotApiUploader(bot, local_mode=True)
        await uploader.send(delivery(path), progress)
        call = api.calls_of("sendDocument")[-1]
    assert call.params["document"] == f"file://{path.resolve()}"
    assert call.files["document"].sha256 == sha  # the fake read it from disk, like the server
    assert progress.seen[-1] == (100_000, 100_000)


async def test_network_failure_is_typed_and_never_logs_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, _ = make_file(tmp_path / "a.bin", 1000)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "999:SECRET-token-value"  # noqa: S105 - the point is to look for it in the logs
    caplog.set_level(logging.DEBUG, logger="bot")

    async with ptb(f"http://127.0.0.1:{port}", token) as bot:
        with pytest.raises(DeliveryError) as caught:
            await BotApiUploader(bot).send(delivery(path), Progress())

    assert caught.value.reason is FailureReason.UPLOAD_FAILED
    ours = [r for r in caplog.records if r.name.startswith("bot.")]
    assert ours  # the retries were logged...
    assert all(token not in r.getMessage() for r in ours)  # ...without the token


async def test_in_a_forum_topic_a_file_whose_link_is_gone_goes_into_the_topic_all_the_same(
    bot_api: FakeBotApi, uploader: BotApiUploader, tmp_path: Path
) -> None:
    forum = -1004242
    bot_api.forum(forum)
    topic = bot_api.topic(forum)
    path, sha = make_file(tmp_path / "data.bin", 1000)
    # Message 999 is gone: a forum refuses the reply, whatever allow_sending_without_reply says.
    gone = dataclasses.replace(delivery(path, chat_id=forum, reply_to=999), thread_id=topic)
    await uploader.send(gone, Progress())
    refused, sent = bot_api.calls_of("sendDocument")
    assert refused.status == 400
    assert sent.ok and sent.files["document"].sha256 == sha
    [message] = bot_api.chat(forum)
    assert (message.thread_id, message.reply_to) == (topic, None)
    # By file_id too, and into the topic.
    await uploader.resend(
        forum, MediaKind.DOCUMENT, message.file_id or "", "c", reply_to=999, thread_id=topic
    )
    assert [m.thread_id for m in bot_api.chat(forum)] == [topic, topic]
