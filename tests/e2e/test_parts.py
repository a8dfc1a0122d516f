"""A video past the Bot API's 50 MB arrives in parts that each play (issue 16): cut at keyframes,
each part an MP4 with its index first, of its own duration; a restart resumes after the last
part delivered; the same link again is answered from the cache with every part."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.media_server import MediaServer

# Against Telegram's flood limits (parts send several messages into one chat), and no call
# into a running retry_after (the fixture fails the test): tests/fakes/flood.py.
pytestmark = pytest.mark.flood

USER = 16000
BIG_NAME = "big.mp4"
BIG_SECONDS = 4.2
PARTS = 3
# Each part's duration as ffprobe reads it, against its share of the source: a part ends where
# the next one's keyframe starts, so they add up but for the sound's padding at each cut.
SUM_SLACK_S = 0.1 * PARTS


def probe(path: Path) -> dict[str, Any]:
    args = ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)]
    data: dict[str, Any] = json.loads(subprocess.run(args, check=True, capture_output=True).stdout)
    return data


def first_video_packet_is_key(path: Path) -> bool:
    args = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1"]
    args += ["-show_entries", "packet=flags", "-of", "csv=p=0", str(path)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[0].startswith("K")


@pytest.fixture(scope="session")
def big_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 130 MB of lossless noise (incompressible: the size is the point) in 4.2 s, with a
    keyframe every 0.2 s and a tone; made once for the session."""
    path = tmp_path_factory.mktemp("parts") / BIG_NAME
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    args += ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "960x540", "-r", "25"]
    args += [
        "-i",
        "/dev/urandom",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:duration={BIG_SECONDS}",
    ]
    args += ["-t", str(BIG_SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"]
    args += ["-g", "5", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)]
    subprocess.run(args, check=True)
    return path


@pytest.fixture
def big_link(big_video: Path, media_dir: Path, media: MediaServer) -> str:
    target = media_dir / BIG_NAME
    try:
        os.link(big_video, target)
    except OSError:  # another file system
        shutil.copyfile(big_video, target)
    return media.url(f"/static/{BIG_NAME}")


@pytest.fixture
def uploads(bot_api: FakeBotApi, tmp_path: Path) -> Path:
    """Every upload kept, and every video checked to play at the fake Bot API."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    bot_api.save_dir = folder
    bot_api.check_videos = True
    return folder


def part_calls(bot_api: FakeBotApi, chat: int) -> list[Call]:
    return [c for c in bot_api.calls_of("sendVideo", chat) if c.ok]


async def wait_parts(bot_api: FakeBotApi, chat: int, count: int) -> list[Call]:
    await bot_api.wait_for(lambda _: len(part_calls(bot_api, chat)) >= count, timeout=60)
    return part_calls(bot_api, chat)


async def test_a_video_past_50_mb_arrives_in_parts_that_each_play(
    bot_api: FakeBotApi, start_daemon: StartDaemon, big_link: str, big_video: Path, uploads: Path
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, big_link)
    calls = await wait_parts(bot_api, USER, PARTS)
    assert len(calls) == PARTS
    total = 0.0
    for n, call in enumerate(calls, start=1):
        upload = call.files["video"]
        assert upload.size < 50 * 1024 * 1024
        assert upload.saved is not None
        assert upload.atoms.index("moov") < upload.atoms.index("mdat")  # plays while loading
        assert first_video_packet_is_key(upload.saved)
        seconds = float(probe(upload.saved)["format"]["duration"])
        assert abs(seconds - call.params["duration"]) <= 1
        assert "thumbnail" in call.files
        assert f"Part {n} of {PARTS}" in call.params["caption"]
        total += seconds
    assert abs(total - BIG_SECONDS) <= SUM_SLACK_S
    source = await asyncio.to_thread(big_video.stat)
    assert sum(c.files["video"].size for c in calls) < source.st_size * 1.05
    # The whole first part's range is in its caption: 0:00 to where part 2 begins.
    assert "0:00–" in calls[0].params["caption"]

    # The same link from someone else: every part at once, by file_id, nothing uploaded.
    other = USER + 1
    bot_api.push_message(other, big_link)
    again = await wait_parts(bot_api, other, PARTS)
    assert [c.files for c in again] == [{}, {}, {}]
    first_ids = [m.file_id for m in bot_api.chat(USER) if m.file is not None]
    assert [c.params["video"] for c in again] == first_ids
    assert [f"Part {n} of {PARTS}" in c.params["caption"] for n, c in enumerate(again, 1)] == [
        True
    ] * PARTS

    # One row in each history, saying how many parts (the cached ones count the same).
    for user, job in ((USER, 1), (other, 2)):
        await daemon.wait_log(f"job_end id={job} outcome=delivered")
        bot_api.push_message(user, "/history")
        history = await bot_api.wait_for_text(user, "Your links")
        assert f"· in {PARTS} parts" in history.content
        assert "1 link in all" in history.content


async def test_a_restart_after_part_two_sends_only_part_three(
    bot_api: FakeBotApi, start_daemon: StartDaemon, big_link: str, uploads: Path
) -> None:
    first: Daemon = await start_daemon()
    bot_api.hold("sendVideo", after=2)  # part 3's upload never gets going
    bot_api.push_message(USER, big_link)
    await bot_api.wait_held()
    assert len(part_calls(bot_api, USER)) == 2
    first.signal()
    assert await first.wait_exit(30) == 0
    bot_api.release("sendVideo")
    await bot_api.wait_for_text(USER, "restarting")

    second = await start_daemon()
    await second.wait_log("parts_planned id=1 parts=3 sent_before=2")
    calls = await wait_parts(bot_api, USER, PARTS)
    await second.wait_log("job_end id=1")
    captions = [c.params["caption"] for c in part_calls(bot_api, USER)]
    assert len(captions) == PARTS
    for n in range(1, PARTS + 1):
        assert sum(f"Part {n} of {PARTS}" in c for c in captions) == 1
    assert calls[-1].files["video"].saved is not None


async def test_a_large_file_of_another_kind_is_refused_with_the_reason(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    # SPLIT_FILES=video: only video and audio go in parts. This says it is a video, and is not
    # one (a file that does not say so is refused by its size before it is fetched).
    await start_daemon()
    bot_api.push_message(USER, media.url(f"/file/data.bin?size={60 * 1024 * 1024}&type=video/mp4"))
    await bot_api.wait_for_text(USER, "only video and audio are sent in parts", timeout=60)
    assert not bot_api.sent_files(USER)


async def test_split_files_all_sends_other_files_as_byte_ranges(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, uploads: Path
) -> None:
    size = 60 * 1024 * 1024
    await start_daemon(SPLIT_FILES="all")
    bot_api.push_message(USER, media.url(f"/file/data.bin?size={size}"))
    await bot_api.wait_for(
        lambda _: len([c for c in bot_api.calls_of("sendDocument", USER) if c.ok]) == 2,
        timeout=60,
    )
    calls = [c for c in bot_api.calls_of("sendDocument", USER) if c.ok]
    names = [c.files["document"].filename for c in calls]
    assert names == ["data.bin.001", "data.bin.002"]
    digest = hashlib.sha256()
    for call in calls:
        saved = call.files["document"].saved
        assert saved is not None
        digest.update(await asyncio.to_thread(saved.read_bytes))
    assert digest.hexdigest() == MediaServer.expected_sha256("data.bin", size)
    assert [
        "Part 1 of 2" in calls[0].params["caption"],
        "Part 2 of 2" in calls[1].params["caption"],
    ] == [True, True]


async def test_a_part_whose_answer_was_lost_is_not_sent_again(
    bot_api: FakeBotApi, start_daemon: StartDaemon, big_link: str, uploads: Path
) -> None:
    daemon = await start_daemon()
    bot_api.hold("sendVideo", after=1)
    bot_api.push_message(USER, big_link)
    await bot_api.wait_held()
    bot_api.lose_next("sendVideo")  # part 2 is performed, and its answer never comes
    bot_api.release("sendVideo")
    await bot_api.wait_for_text(USER, "did not confirm", timeout=60)
    await daemon.wait_log("job_end id=1")
    captions = [c.params["caption"] for c in part_calls(bot_api, USER)]
    assert len(captions) == PARTS  # part 2 once (its answer lost), parts 1 and 3 once
    for n in range(1, PARTS + 1):
        assert sum(f"Part {n} of {PARTS}" in c for c in captions) == 1
    assert "part_unconfirmed id=1 part=2" in daemon.output
