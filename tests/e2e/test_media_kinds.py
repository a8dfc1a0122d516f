"""Every file arrives the way Telegram shows it best (issue 14), asserted at the fake Bot API:
the method, an MP4's atom order, audio tags, what was fetched, and the reply to the link."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.media_files import make_hls, make_image, make_text, make_video
from tests.fakes.media_server import MediaServer
from tests.fakes.records import ChatMessage

USER = 14000
# "report" in Persian as filename*, an ASCII stand-in as filename: RFC 6266 prefers the first.
PERSIAN_NAME = "%D8%B1%D8%A7%D9%BE%D9%88%D8%B1%D8%AA.pdf"
BOTH_NAMES = f"attachment; filename=\"report.pdf\"; filename*=UTF-8''{PERSIAN_NAME}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ffprobe(path: Path) -> dict[str, Any]:
    args = ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)]
    data: dict[str, Any] = json.loads(subprocess.run(args, check=True, capture_output=True).stdout)
    return data


def moov_before_mdat(atoms: tuple[str, ...]) -> bool:
    return "moov" in atoms and "mdat" in atoms and atoms.index("moov") < atoms.index("mdat")


def replies_to(call: Call, message_id: int) -> bool:
    return call.params.get("reply_parameters") == {
        "message_id": message_id,
        "allow_sending_without_reply": True,
    }


def page(media: MediaServer, **query: str) -> str:
    text = "&".join(f"{key}={quote(value, safe='')}" for key, value in query.items())
    return media.url(f"/page/watch?{text}")


async def pick(bot_api: FakeBotApi, user: int, choice: str) -> None:
    """Answer the format question with `choice` (best, small, audio)."""
    question: ChatMessage = await bot_api.wait_for_text(user, "What would you like", timeout=30)
    data = next(
        b["callback_data"] for b in question.buttons if b["callback_data"].endswith(f":{choice}")
    )
    bot_api.push_callback(user, question.message_id, data)


async def test_plain_files_go_as_their_container_and_codecs_call_for(
    bot_api: FakeBotApi,
    media: MediaServer,
    media_dir: Path,
    start_daemon: StartDaemon,
    data_dir: Path,
) -> None:
    await asyncio.to_thread(make_text, media_dir / "notes.txt", 41_000)
    await asyncio.to_thread(make_video, media_dir / "late.mp4", 2, faststart=False)
    await asyncio.to_thread(make_video, media_dir / "clip.mkv", 2)
    webm = await asyncio.to_thread(
        make_video, media_dir / "clip.webm", 2, video="vp9", audio="opus"
    )
    daemon = await start_daemon()
    links = {
        "text": media.url("/static/notes.txt"),
        "late": media.url("/static/late.mp4"),
        "mkv": media.url("/static/clip.mkv"),
        "webm": media.url("/static/clip.webm"),
        "named": media.url(f"/file/x.bin?size=5000&disposition={quote(BOTH_NAMES)}"),
    }
    users = {case: USER + n for n, case in enumerate(links)}
    asked = {case: bot_api.push_message(users[case], url) for case, url in links.items()}
    calls = {case: await bot_api.wait_for_file(users[case], 60) for case in links}

    # Text is a document, though ffprobe's tty demuxer calls it a 640x400 video.
    assert calls["text"].method == "sendDocument"
    assert "thumbnail" not in calls["text"].files
    # An MP4 with its index at the end: remuxed so it plays at once, and only then streamable.
    late = calls["late"]
    assert late.method == "sendVideo"
    assert late.params["supports_streaming"] is True
    assert moov_before_mdat(late.files["video"].atoms)
    assert late.files["video"].filename == "late.mp4"
    # h264/aac in an mkv: remuxed into an MP4, no re-encoding.
    mkv = calls["mkv"]
    assert (mkv.method, mkv.files["video"].filename) == ("sendVideo", "clip.mp4")
    assert mkv.params["supports_streaming"] is True
    assert moov_before_mdat(mkv.files["video"].atoms)
    # VP9/Opus: Telegram promises inline play for MPEG-4 only: a document, untouched.
    assert calls["webm"].method == "sendDocument"
    assert calls["webm"].files["document"].sha256 == sha256(webm)
    assert "supports_streaming" not in calls["webm"].params
    # Content-Disposition: filename* before filename.
    assert calls["named"].files["document"].filename == "راپورت.pdf"
    # Each file answers its own link.
    for case, call in calls.items():
        assert replies_to(call, bot_api.message_id_of(asked[case])), case
    await daemon.wait_lines("job_end id=", len(links))
    assert not any((data_dir / "jobs").glob("*/*"))


async def test_audio_from_a_page_carries_its_title_performer_and_cover(
    bot_api: FakeBotApi,
    media: MediaServer,
    media_dir: Path,
    start_daemon: StartDaemon,
    tmp_path: Path,
) -> None:
    await asyncio.to_thread(make_video, media_dir / "song.mp4", 3, 320, 180)
    await asyncio.to_thread(make_image, media_dir / "cover.png", 640, 360)
    bot_api.save_dir = tmp_path / "uploads"
    bot_api.save_dir.mkdir()
    await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    link = page(
        media,
        og=media.url("/static/song.mp4"),
        image=media.url("/static/cover.png"),
        title="Evening Tune",
    )
    update = bot_api.push_message(USER, link)
    await pick(bot_api, USER, "audio")
    call = await bot_api.wait_for_file(USER, 60)

    assert call.method == "sendAudio"
    assert call.params["title"] == "Evening Tune"
    performer = str(call.params["performer"])
    assert performer.startswith("127.0.0.1")  # yt-dlp's generic uploader: the site
    assert "thumbnail" in call.files  # the page's picture as the cover
    audio = call.files["audio"]
    assert audio.filename == "Evening Tune.m4a"
    assert media.bytes_served("/static/cover.png") > 0
    # The same tags are in the file itself, with the cover.
    assert audio.saved is not None
    probed = await asyncio.to_thread(ffprobe, audio.saved)
    tags = probed["format"]["tags"]
    assert (tags["title"], tags["artist"]) == ("Evening Tune", performer)
    attached = [
        s["disposition"]["attached_pic"] for s in probed["streams"] if s["codec_type"] == "video"
    ]
    assert attached == [1]
    assert replies_to(call, bot_api.message_id_of(update))


async def test_audio_from_an_hls_master_fetches_only_the_smallest_variant(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, start_daemon: StartDaemon
) -> None:
    folder = media_dir / "sea-trip"
    folder.mkdir()
    await asyncio.to_thread(make_hls, folder, "master", (360, 720), 3)
    await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    update = bot_api.push_message(USER, media.url("/static/sea-trip/master.m3u8"))
    await pick(bot_api, USER, "audio")
    call = await bot_api.wait_for_file(USER, 60)

    assert call.method == "sendAudio"
    assert media.bytes_served("master_360p_") > 0  # the 360p segments
    assert media.bytes_served("master_720p_") == 0  # never the 720p ones: same sound, more bytes
    # yt-dlp calls it "master"; the URL's last meaningful segment names it instead.
    assert call.params["title"] == "sea-trip"
    assert call.files["audio"].filename == "sea-trip.m4a"
    assert str(call.params["caption"]).startswith("<b>sea-trip</b>")
    assert replies_to(call, bot_api.message_id_of(update))


async def test_a_page_with_two_videos_sends_the_first_and_says_how_many_more(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, start_daemon: StartDaemon
) -> None:
    await asyncio.to_thread(make_video, media_dir / "late.mp4", 2, faststart=False)
    await start_daemon()
    link = page(
        media,
        video=media.url("/static/late.mp4?n=1"),
        video2=media.url("/static/late.mp4?n=2"),
        title="Two Clips",
    )
    update = bot_api.push_message(USER, link)
    call = await bot_api.wait_for_file(USER, 60)

    assert call.method == "sendVideo"
    # yt-dlp numbers the videos of a page ("Two Clips (1)"); the numbering is not shown.
    assert str(call.params["caption"]).startswith("<b>Two Clips</b>")
    assert call.files["video"].filename == "Two Clips.mp4"
    assert moov_before_mdat(call.files["video"].atoms)
    assert replies_to(call, bot_api.message_id_of(update))
    note = await bot_api.wait_for_text(USER, "it has 1 more video.")
    assert note.text is not None and "Only the first video" in note.text
    assert not [path for path, _ in media.served if "n=2" in path]  # the second is not fetched
