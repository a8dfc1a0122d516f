"""The download engine end to end: yt-dlp pages, choices, real cancellation, queueing, resume."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_files import make_video
from tests.fakes.media_server import MediaServer
from tests.fakes.records import ChatMessage

# Against Telegram's flood limits (queues send several messages into one chat), and no call
# into a running retry_after (the fixture fails the test): tests/fakes/flood.py.
pytestmark = pytest.mark.flood

USER = 3001


@pytest.fixture
async def video(media_dir: Path) -> Path:
    return await asyncio.to_thread(make_video, media_dir / "clip.mp4", 2)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def page(media: MediaServer, video_url: str, title: str = "A clip") -> str:
    return media.url(f"/page/watch?video={quote(video_url, safe='')}&title={quote(title)}")


def button(message: ChatMessage, prefix: str) -> str:
    data = [b["callback_data"] for b in message.buttons if b["callback_data"].startswith(prefix)]
    assert data, f"no {prefix} button on {message}"
    return str(data[0])


async def test_page_with_video_is_delivered_as_video(
    bot_api: FakeBotApi, media: MediaServer, video: Path, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    bot_api.push_message(USER, page(media, media.url("/static/clip.mp4"), "Sunset"))
    call = await bot_api.wait_for_file(USER, timeout=60)
    assert call.method == "sendVideo"
    assert call.files["video"].sha256 == sha256(video)
    assert call.params["supports_streaming"] in (True, "true", "True")
    assert "Sunset" in str(call.params.get("caption"))


async def test_page_without_media_is_answered(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    bot_api.push_message(USER, media.url("/page/empty"))
    await bot_api.wait_for_text(USER, "No video or audio was found", timeout=30)


async def test_user_picks_audio_only(
    bot_api: FakeBotApi, media: MediaServer, video: Path, start_daemon: StartDaemon
) -> None:
    await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    bot_api.push_message(USER, page(media, media.url("/static/clip.mp4")))
    question = await bot_api.wait_for_text(USER, "What would you like", timeout=30)
    audio = button(question, "fmt:").rsplit(":", 1)[0] + ":audio"
    bot_api.push_callback(USER, question.message_id, audio)
    call = await bot_api.wait_for_file(USER, timeout=60)
    assert call.method == "sendAudio"
    assert str(call.files["audio"].filename).endswith(".m4a")


async def test_cancel_frees_the_only_worker(
    bot_api: FakeBotApi, media: MediaServer, video: Path, start_daemon: StartDaemon
) -> None:
    await start_daemon(DOWNLOAD_WORKERS="1")
    slow = page(media, media.url("/static/clip.mp4?rate=20000"), "Slow")
    bot_api.push_message(USER, slow)
    status = await bot_api.wait_for_text(USER, "Downloading", timeout=30)
    bot_api.push_message(USER + 1, page(media, media.url("/static/clip.mp4"), "Second"))
    await bot_api.wait_for_text(USER + 1, "position 1")
    bot_api.push_callback(USER, status.message_id, button(status, "cancel:"))
    await bot_api.wait_for_text(USER, "Cancelled", timeout=5)
    await media.wait_streams(0, timeout=5)
    call = await bot_api.wait_for_file(USER + 1, timeout=30)
    assert call.files["video"].sha256 == sha256(video)
    assert not bot_api.calls_of("sendVideo", USER)


async def test_six_downloads_in_parallel_and_start_still_answers(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon(DOWNLOAD_WORKERS="6")
    users = [USER + 10 + i for i in range(6)]
    size = 1_200_000  # 8 s each at 150 kB/s
    for n, user in enumerate(users):
        bot_api.push_message(user, media.url(f"/file/f{n}.bin?size={size}&rate=150000"))
    for user in users:
        await bot_api.wait_for_text(user, "Downloading", timeout=15)
    bot_api.push_message(9999, "/start")
    await bot_api.wait_for_text(9999, "Hi")
    # Answered while all six still stream: /start never waits for a download.
    assert media.active_streams == 6
    assert not any(bot_api.sent_files(user) for user in users)
    for n, user in enumerate(users):
        call = await bot_api.wait_for_file(user, timeout=30)
        assert call.files["document"].sha256 == MediaServer.expected_sha256(f"f{n}.bin", size)


async def test_per_user_limit_and_cancel_command(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon(MAX_JOBS_PER_USER="2")
    for n in range(3):
        bot_api.push_message(USER, media.url(f"/file/s{n}.bin?size=5000000&rate=100000"))
    await bot_api.wait_for_text(USER, "already have 2 downloads")
    await bot_api.wait_for(
        lambda _: sum("Downloading" in m.content for m in bot_api.chat(USER)) == 2, timeout=15
    )
    bot_api.push_message(USER, "/cancel")
    await bot_api.wait_for_text(USER, "Stopped 2 download")
    await media.wait_streams(0, timeout=5)


async def test_restart_mid_download_still_delivers(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    size = 1_500_000
    bot_api.push_message(USER, media.url(f"/file/movie.bin?size={size}&rate=300000"))
    await bot_api.wait_for_text(USER, "Downloading", timeout=15)
    daemon.signal()
    assert await daemon.wait_exit(15) == 0
    await bot_api.wait_for_text(USER, "restarting")
    again = await start_daemon()
    call = await bot_api.wait_for_file(USER, timeout=30)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("movie.bin", size)
    # The status message ("Resuming", then progress: the newest that had its turn) is gone.
    await again.wait_log("job_end id=1 outcome=delivered")
    assert [m.file is not None for m in bot_api.chat(USER)] == [True]


async def test_a_crash_gives_up_the_running_job_and_resumes_the_waiting_one(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    # The running job may be what killed the bot (a bomb): it is not run again, so one link
    # cannot crash-loop the daemon. The one that was only waiting is not suspect.
    daemon = await start_daemon(DOWNLOAD_WORKERS="1")
    # 10 s long: the waiting job's position shows once it has waited 2 s, well before.
    bot_api.push_message(USER, media.url("/file/movie.bin?size=1500000&rate=150000"))
    await bot_api.wait_for_text(USER, "Downloading", timeout=15)
    bot_api.push_message(USER + 1, media.url("/file/next.bin?size=1000"))
    await bot_api.wait_for_text(USER + 1, "position 1")
    daemon.kill()
    await daemon.wait_exit(5)
    again = await start_daemon(DOWNLOAD_WORKERS="1")
    await bot_api.wait_for_text(USER, "❌ The bot stopped unexpectedly while working on this link")
    call = await bot_api.wait_for_file(USER + 1, timeout=30)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("next.bin", 1000)
    await again.wait_log("job_end id=2")
    assert not bot_api.sent_files(USER)
    assert not any((data_dir / "jobs").iterdir())


async def test_page_with_two_videos_sends_the_first(
    bot_api: FakeBotApi,
    media: MediaServer,
    video: Path,
    media_dir: Path,
    start_daemon: StartDaemon,
) -> None:
    other = await asyncio.to_thread(make_video, media_dir / "other.mp4", 1, 160, 120)
    await start_daemon()
    url = media.url(
        "/page/two?video="
        + quote(media.url("/static/clip.mp4"), safe="")
        + "&video2="
        + quote(media.url("/static/other.mp4"), safe="")
    )
    bot_api.push_message(USER, url)
    call = await bot_api.wait_for_file(USER, timeout=60)
    assert call.files["video"].sha256 == sha256(video)
    assert sha256(other) != sha256(video)
    assert len(bot_api.sent_files(USER)) == 1
