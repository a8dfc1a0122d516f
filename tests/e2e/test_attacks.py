"""One link must never take the bot down: each attack of issue 11, served by a hostile server.

Every test asserts what the users and the operator would see: the usual answer in the chat
within the job timeout plus a few seconds, the daemon still running, its memory (with the
ffmpeg/ffprobe children, as systemd's MemoryMax counts it) under a bound, the attacking
connection closed within 5 s of the answer, and nothing left in DATA_DIR/jobs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import Daemon
from tests.e2e.sampler import Sampler
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.hostile import GiB, HostileServer
from tests.fakes.media_server import MediaServer
from tests.fakes.records import ChatMessage

USER = 4401
MB = 1024 * 1024
JOB_TIMEOUT = 4
ANSWER_WITHIN = JOB_TIMEOUT + 6
# Idle, the daemon is ~70 MB, ~110 MB once yt-dlp is loaded; a bomb that got through would be
# gigabytes. The 200 MB goal is measured by `make attack`, on a machine not running tests.
RSS_BOUND = 250 * MB
SETTINGS = {
    "JOB_TIMEOUT_SECONDS": str(JOB_TIMEOUT),
    "MAX_FILE_SIZE_MB": "10",
    "MAX_PAGE_MB": "2",
    "DOWNLOAD_WORKERS": "1",
}


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    async with HostileServer() as server:
        yield server


async def survived(
    daemon: Daemon, hostile: HostileServer, sampler: Sampler, data_dir: Path, job_id: int = 1
) -> None:
    """After the answer: the attacker let go of, the daemon up and small, no file left."""
    await hostile.wait_all_closed(timeout=5)
    await daemon.wait_log(f"job_end id={job_id} ")
    assert daemon.alive
    assert sampler.peak_rss < RSS_BOUND, f"peak {sampler.peak_rss / MB:.0f} MB"
    assert not any((data_dir / "jobs").iterdir())
    assert "Traceback" not in daemon.output, daemon.output


async def answer(bot_api: FakeBotApi, text: str) -> ChatMessage:
    return await bot_api.wait_for_text(USER, text, timeout=ANSWER_WITHIN)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # 4 GiB of zeros in two layers of gzip, a few kilobytes on the wire
        (
            f"/gzip.bin?size={4 * GiB}",
            "❌ The file is too large. This bot sends files up to 10 MB.",
        ),
        # yt-dlp's routes: a page that is a gzip bomb, and one that never ends
        (f"/bomb.html?size={GiB}", "❌ The page is too large to look for media in"),
        ("/endless.html", "❌ The page is too large to look for media in"),
    ],
)
async def test_bombs_and_endless_pages_fail_in_bounded_memory(
    path: str,
    expected: str,
    bot_api: FakeBotApi,
    hostile: HostileServer,
    start_daemon: StartDaemon,
    data_dir: Path,
) -> None:
    daemon = await start_daemon(**SETTINGS)
    async with Sampler(daemon.pid, 0.05) as sampler:
        bot_api.push_message(USER, hostile.url(path))
        await answer(bot_api, expected)
        await survived(daemon, hostile, sampler, data_dir)


@pytest.mark.parametrize("after", [0, 1], ids=["file", "page"])
async def test_slowloris_headers_end_with_the_job_timeout(
    after: int,
    bot_api: FakeBotApi,
    hostile: HostileServer,
    start_daemon: StartDaemon,
    data_dir: Path,
) -> None:
    # after=1: the first request (the bot's look at what the URL serves) gets a page, so
    # the trickle reaches yt-dlp's own request, in a worker thread.
    daemon = await start_daemon(**SETTINGS)
    async with Sampler(daemon.pid, 0.05) as sampler:
        bot_api.push_message(USER, hostile.url(f"/slowloris?every=0.5&after={after}"))
        await answer(bot_api, "❌ The site took too long to answer")
        await survived(daemon, hostile, sampler, data_dir)
    assert hostile.requests_to("/slowloris") == after + 1


async def test_a_slow_endless_page_is_cancelled_and_the_only_worker_serves_the_next_link(
    bot_api: FakeBotApi,
    hostile: HostileServer,
    media: MediaServer,
    start_daemon: StartDaemon,
    data_dir: Path,
) -> None:
    daemon = await start_daemon(**{**SETTINGS, "JOB_TIMEOUT_SECONDS": "120"})
    async with Sampler(daemon.pid, 0.05) as sampler:
        bot_api.push_message(USER, hostile.url("/endless.html?rate=20000"))
        status = await bot_api.wait_for_text(USER, "Working on your link")
        await hostile.wait_requests("/endless.html", 2)  # the look, then yt-dlp reading it
        cancel = next(b["callback_data"] for b in status.buttons)
        bot_api.push_callback(USER, status.message_id, cancel)
        await answer(bot_api, "✖️ Cancelled.")
        await survived(daemon, hostile, sampler, data_dir)
    await daemon.wait_log("ytdlp_stopped")
    assert "ytdlp_slow_stop" not in daemon.output

    video = media.url("/file/clip.mp4?size=50000&type=video/mp4")
    other = USER + 1
    bot_api.push_message(other, media.url(f"/page/watch?video={quote(video, safe='')}"))
    call = await bot_api.wait_for_file(other, timeout=30)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("clip.mp4", 50000)
