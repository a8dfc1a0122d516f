"""One link must never take the bot down: each attack of issues 11 and 26, served by a hostile
server (issue 26's: decode bombs, media that asks ffmpeg for far more memory than its bytes).

Every test asserts what the users and the operator would see: the usual answer in the chat
within the job timeout plus a few seconds, the daemon still running, its memory (with the
ffmpeg/ffprobe children, as systemd's MemoryMax counts it) under a bound, the attacking
connection closed within 5 s of the answer, and nothing left in DATA_DIR/jobs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import Daemon
from tests.e2e.sampler import Sampler
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.hostile import GiB, HostileServer
from tests.fakes.media_files import make_huge_frames, make_many_streams, make_video
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
    left = sorted(str(p.relative_to(data_dir)) for p in (data_dir / "jobs").rglob("*"))
    assert not left, f"left behind after job_end: {left}"
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


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Issue 26's media, made once: 8192 x 8192 frames, 500 streams, small clips."""
    folder = tmp_path_factory.mktemp("bombs")
    made = {
        "huge.mp4": make_huge_frames(folder / "huge.mp4", 8192, 2),
        "streams.mkv": make_many_streams(folder / "streams.mkv", 500, 0.2),
        "song.mp4": make_video(folder / "song.mp4", 2, 160, 120),
        "clip.mp4": make_video(folder / "clip.mp4", 1, 160, 120),
        "seg.ts": make_video(folder / "seg.ts", 1, 160, 120),
    }
    return {name: path.read_bytes() for name, path in made.items()}


BOMB_TYPES = {
    "huge.mp4": "video/mp4",
    "streams.mkv": "video/x-matroska",
    "song.mp4": "video/mp4",
    "clip.mp4": "video/mp4",
    "seg.ts": "video/mp2t",
}
BOMB_SETTINGS = {
    "JOB_TIMEOUT_SECONDS": "30",
    "MAX_FILE_SIZE_MB": "2",
    "MAX_PLAYLIST_ITEMS": "3",
    "CHOICE_TIMEOUT_SECONDS": "60",
    "DOWNLOAD_WORKERS": "1",
}
BOMB_ANSWER_WITHIN = 30 + 6


async def press(bot_api: FakeBotApi, user: int, text: str, ending: str) -> None:
    asked = await bot_api.wait_for_text(user, text, timeout=BOMB_ANSWER_WITHIN)
    data = next(b["callback_data"] for b in asked.buttons if b["callback_data"].endswith(ending))
    bot_api.push_callback(user, asked.message_id, data)


async def test_decode_bombs_get_their_file_or_an_answer_within_the_memory_bound(
    bot_api: FakeBotApi,
    hostile: HostileServer,
    start_daemon: StartDaemon,
    data_dir: Path,
    bombs: dict[str, bytes],
) -> None:
    """One daemon, five links one after another (the last cancelled), each with its own
    sampler: every user gets the file or a clear answer, and the daemon with its ffmpeg and
    ffprobe children stays under the bound for each (before issue 26: 481 MB for the 8192 x
    8192 video, 663 MB for 500 streams)."""
    for name, body in bombs.items():
        hostile.serve(name, body, BOMB_TYPES[name])
    hostile.serve_png_bomb("huge.png", 30000, 30000)
    daemon = await start_daemon(**BOMB_SETTINGS)
    peaks: dict[str, float] = {}

    # 1. A video of 8192 x 8192 frames: it goes, without a thumbnail (no frame is decoded).
    async with Sampler(daemon.pid, 0.02) as sampler:
        bot_api.push_message(USER + 1, hostile.url("/media/huge.mp4"))
        call = await bot_api.wait_for_file(USER + 1, timeout=BOMB_ANSWER_WITHIN)
        await daemon.wait_log("job_end id=1 ")
    peaks["huge"] = sampler.peak_rss / MB
    assert peaks["huge"] < RSS_BOUND / MB, peaks  # 481 MB before issue 26
    assert call.method in {"sendAnimation", "sendVideo"}
    assert "thumbnail" not in call.files
    assert "media_no_thumbnail reason=too_many_pixels size=8192x8192" in daemon.output

    # 2. A page whose cover is a 30000 x 30000 PNG, the sound asked for: it goes, no cover.
    async with Sampler(daemon.pid, 0.02) as sampler:
        bot_api.push_message(USER + 2, hostile.url("/cover.html?video=song.mp4&image=huge.png"))
        await press(bot_api, USER + 2, "What would you like", ":audio")
        call = await bot_api.wait_for_file(USER + 2, timeout=BOMB_ANSWER_WITHIN)
        await daemon.wait_log("job_end id=2 ")
    peaks["cover"] = sampler.peak_rss / MB
    assert call.method == "sendAudio"
    assert "thumbnail" not in call.files

    # 3. An mkv of 500 streams: its probe passes ffprobe's ceiling, so it goes as a document.
    async with Sampler(daemon.pid, 0.02) as sampler:
        bot_api.push_message(USER + 3, hostile.url("/media/streams.mkv"))
        call = await bot_api.wait_for_file(USER + 3, timeout=BOMB_ANSWER_WITHIN)
        await daemon.wait_log("job_end id=3 ")
    peaks["streams"] = sampler.peak_rss / MB
    assert call.method == "sendDocument"
    assert "media_tool_memory step=probe" in daemon.output

    # 5. A page of 3,000 <video> tags, all of them asked for: MAX_PLAYLIST_ITEMS of them go.
    async with Sampler(daemon.pid, 0.02) as sampler:
        bot_api.push_message(USER + 4, hostile.url("/videos.html?count=3000&src=clip.mp4"))
        await press(bot_api, USER + 4, "This is a playlist of", ":all")
        await daemon.wait_log("job_end id=4 ", timeout=BOMB_ANSWER_WITHIN)
    peaks["videos"] = sampler.peak_rss / MB
    albums = [c for c in bot_api.calls_of("sendMediaGroup", USER + 4) if c.ok]
    assert [len(c.params["media"]) for c in albums] == [3]

    # 4. An HLS playlist of 150,000 segments: yt-dlp reads it and fetches its segments one by
    # one until MAX_FILE_SIZE_MB (or, on a slow machine, the job's deadline).
    async with Sampler(daemon.pid, 0.02) as sampler:
        bot_api.push_message(USER + 5, hostile.url("/hls.m3u8?segments=150000"))
        await press(bot_api, USER + 5, "What would you like", ":best")
        message = await bot_api.wait_for_text(USER + 5, "❌", timeout=BOMB_ANSWER_WITHIN)
        await daemon.wait_log("job_end id=5 ")
    assert "too large" in message.content or "took too long" in message.content
    peaks["hls"] = sampler.peak_rss / MB

    assert all(peak < RSS_BOUND / MB for peak in peaks.values()), peaks
    limits = await asyncio.to_thread(Path(f"/proc/{daemon.pid}/limits").read_text)
    # ^ the daemon itself has no ceiling: only its children do
    assert re.search(r"Max data size\s+unlimited", limits), limits
    assert daemon.alive
    left = sorted(str(p.relative_to(data_dir)) for p in (data_dir / "jobs").rglob("*"))
    assert not left, f"left behind after job_end: {left}"
    assert "Traceback" not in daemon.output, daemon.output
