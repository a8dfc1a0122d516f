"""Delivery end to end: the right kind of message, MTProto over 50 MB, the file_id cache,
and Telegram's failures survived."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_files import make_audio, make_video
from tests.fakes.media_server import MediaServer
from tests.fakes.mtproto import read_uploads

USER = 5001
MB = 1024 * 1024


async def test_video_is_sent_playable_with_metadata(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, start_daemon: StartDaemon
) -> None:
    await asyncio.to_thread(make_video, media_dir / "v.mp4", 3, 320, 240)
    await start_daemon()
    bot_api.push_message(USER, media.url("/static/v.mp4"))
    call = await bot_api.wait_for_file(USER)
    assert call.method == "sendVideo"
    assert (int(call.params["width"]), int(call.params["height"])) == (320, 240)
    assert int(call.params["duration"]) == 3
    assert "thumbnail" in call.files
    assert "v.mp4" in str(call.params["caption"])


async def test_audio_is_sent_as_audio_with_tags(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, start_daemon: StartDaemon
) -> None:
    song = await asyncio.to_thread(make_audio, media_dir / "song.m4a", 2, title="Tune")
    await start_daemon()
    bot_api.push_message(USER, media.url(f"/static/{song.name}"))
    call = await bot_api.wait_for_file(USER)
    assert call.method == "sendAudio"
    assert call.params["title"] == "Tune"


async def test_corrupt_media_goes_as_a_document(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    bot_api.push_message(USER, media.url("/file/broken.mp4?size=200000&type=video/mp4"))
    call = await bot_api.wait_for_file(USER)
    assert call.method == "sendDocument"


async def test_over_50_mb_goes_through_mtproto(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon(
        API_ID="12345",
        API_HASH="0123456789abcdef0123456789abcdef",
        TEST_MTPROTO="file",
    )
    size = 51 * MB
    bot_api.push_message(USER, media.url(f"/file/big.bin?size={size}"))
    await daemon.wait_log("job_end id=1 outcome=delivered", timeout=60)
    uploads = read_uploads(data_dir)
    assert [u["sha256"] for u in uploads] == [MediaServer.expected_sha256("big.bin", size)]
    assert uploads[0]["chat_id"] == USER
    assert not bot_api.calls_of("sendDocument")
    assert not any((data_dir / "jobs").glob("*/*"))


async def test_over_50_mb_without_mtproto_says_the_limit_and_tells_the_operator_how(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, media.url(f"/file/big.bin?size={51 * MB}"))
    message = await bot_api.wait_for_text(USER, "❌", timeout=60)
    assert message.content == "❌ The file is too large (51 MB). This bot sends files up to 50 MB."
    await daemon.wait_log("job_end id=1 outcome=failed")
    # What to configure is for the operator: in the log, not in the chat.
    failed = await daemon.wait_log("job_failed id=1 reason=too_large_for_telegram")
    assert "set API_ID and API_HASH" in failed
    assert "http_saved" not in daemon.output  # refused from Content-Length, nothing fetched
    assert not any((data_dir / "jobs").glob("*/*"))


async def test_same_link_again_is_answered_from_the_cache(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    url = media.url("/file/cached.bin?size=2000000")
    bot_api.push_message(USER, url)
    first = await bot_api.wait_for_file(USER)
    fetches = len(media.requests)
    mark = bot_api.mark()
    bot_api.push_message(USER + 1, url)
    again = await bot_api.wait_for_file(USER + 1, after=mark)
    assert not again.files  # sent by file_id, nothing uploaded
    assert again.params["document"] == first_file_id(bot_api, USER)
    assert len(media.requests) == fetches  # nothing downloaded
    assert first.ok


def first_file_id(bot_api: FakeBotApi, chat_id: int) -> str:
    return next(str(m.file_id) for m in bot_api.chat(chat_id) if m.file_id)


async def test_rejected_file_id_is_dropped_and_the_job_runs(
    media: MediaServer, start_daemon: StartDaemon, bot_api: FakeBotApi, data_dir: Path
) -> None:
    daemon = await start_daemon()
    url = media.url("/file/stale.bin?size=100000")
    bot_api.push_message(USER, url)
    await bot_api.wait_for_file(USER)
    await daemon.stop()
    # A new Bot API server knows none of the old file_ids, as after a bot token change.
    async with FakeBotApi(token=bot_api.token) as fresh:
        again = await start_daemon(TELEGRAM_API_URL=fresh.url)
        fresh.push_message(USER, url)
        call = await fresh.wait_for_file(USER)
        assert call.files["document"].sha256 == MediaServer.expected_sha256("stale.bin", 100000)
        await again.wait_log("cache_stale")
        await again.stop()


async def test_a_fifth_of_api_calls_failing_loses_nothing(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    bot_api.fail_ratio(0.2, (500, 429, 502), seed=7, retry_after=1)
    users = [USER + 100 + n for n in range(5)]
    for n, user in enumerate(users):
        bot_api.push_message(user, "/help")
        bot_api.push_message(user, media.url(f"/file/r{n}.bin?size=300000"))
    for n, user in enumerate(users):
        await bot_api.wait_for_text(user, "Commands", timeout=60)
        call = await bot_api.wait_for_file(user, timeout=60)
        assert call.files["document"].sha256 == MediaServer.expected_sha256(f"r{n}.bin", 300000)
    failed = [c for c in bot_api.calls if c.status in (429, 500, 502)]
    assert len(failed) >= 5  # the faults really happened
