"""What real ffmpeg-made files go as (the post-process stage, prepare()); broken files become
documents, never errors. What each kind is made into is tests/unit/test_prepare.py's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.media.facts import read_facts
from bot.media.prepare import prepare
from bot.media.probe import THUMB_MAX_BYTES, THUMB_SIDE, info_of, read
from bot.model.media import MediaFile, MediaInfo, MediaKind
from tests.fakes.media_files import make_audio, make_gif_like, make_text, make_video


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Media made once for the module (ffmpeg is the slow part)."""
    folder = tmp_path_factory.mktemp("media")
    video = make_video(folder / "clip.mp4", seconds=2, width=640, height=360)
    image = folder / "still.png"
    source = ["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1"]
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", *source, str(image)],
        check=True,
        timeout=60,
    )
    return {
        "video": video,
        "audio": make_audio(folder / "song.m4a", seconds=2, title="Tone", artist="Tests"),
        "silent": make_gif_like(folder / "loop.mp4", seconds=1),
        "image": image,
    }


def classify(data: dict[str, Any], path: Path) -> MediaInfo:
    """What ffprobe's JSON makes of a file (the name decides nothing)."""
    del path
    return info_of(read_facts(data))


async def probe(path: Path) -> MediaInfo:
    """How a plain file (no page around it) goes."""
    return (await prepare(MediaFile(path))).info


def ffprobe_size(path: Path) -> tuple[int, int]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    stream = json.loads(out)["streams"][0]
    return int(stream["width"]), int(stream["height"])


async def test_video_with_sound(made: dict[str, Path]) -> None:
    info = await probe(made["video"])

    assert (info.kind, info.duration, info.width, info.height) == (MediaKind.VIDEO, 2, 640, 360)
    assert info.thumbnail == made["video"].with_name("clip.mp4.thumb.jpg")
    assert info.thumbnail.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    assert info.thumbnail.stat().st_size <= THUMB_MAX_BYTES
    assert ffprobe_size(info.thumbnail) == (THUMB_SIDE, 180)


async def test_tagged_audio(made: dict[str, Path]) -> None:
    info = await probe(made["audio"])

    assert info == MediaInfo(MediaKind.AUDIO, duration=2, title="Tone", performer="Tests")


async def test_short_silent_clip_is_an_animation(made: dict[str, Path]) -> None:
    info = await probe(made["silent"])

    assert (info.kind, info.duration, info.width, info.height) == (
        MediaKind.ANIMATION,
        1,
        160,
        120,
    )
    assert info.thumbnail is not None
    assert info.thumbnail.is_file()


async def test_image_is_a_document(made: dict[str, Path]) -> None:
    assert await probe(made["image"]) == MediaInfo()


@pytest.mark.parametrize("name", ["notes.txt", "key.asc", "notes.gif"])
async def test_text_is_a_document_whatever_ffprobe_guesses(tmp_path: Path, name: str) -> None:
    # ffprobe's tty demuxer reads these as a 640x400 "video" of several seconds.
    path = make_text(tmp_path / name, 41_000)

    assert await probe(path) == MediaInfo()


async def test_vp9_webm_is_a_document(tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.webm", 1, 64, 48, video="vp9", audio="opus")

    assert await probe(path) == MediaInfo()


async def test_random_bytes_named_mp4_are_a_document(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(os.urandom(200_000))

    assert await probe(path) == MediaInfo()


@pytest.mark.parametrize("keep", [0.5, 0.02, 0.0])
async def test_truncated_video_is_a_document(
    made: dict[str, Path], tmp_path: Path, keep: float
) -> None:
    data = made["video"].read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * keep)])

    assert await probe(path) == MediaInfo()


async def test_a_missing_file_has_no_facts(tmp_path: Path) -> None:
    assert await read(tmp_path / "gone.mp4") is None


def children() -> set[str]:
    found: set[str] = set()
    for task in Path("/proc/self/task").iterdir():
        found |= set((task / "children").read_text().split())
    return found


async def test_timeout_kills_ffprobe(made: dict[str, Path]) -> None:
    before = children()

    facts = await read(made["video"], timeout=0.0001)

    assert facts is None
    assert children() == before


def test_classify_from_ffprobe_json() -> None:
    rotated = {
        "format": {"format_name": "mov,mp4", "duration": "30.4"},
        "streams": [
            {"codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080}
            | {"side_data_list": [{"rotation": -90}]},
        ],
    }
    info = classify(rotated, Path("phone.mp4"))
    # silent but long: a video, turned upright
    assert (info.kind, info.duration, info.width, info.height) == (MediaKind.VIDEO, 30, 1080, 1920)

    gif = {
        "format": {"format_name": "gif", "duration": "3.2"},
        "streams": [{"codec_type": "video", "codec_name": "gif", "width": 100, "height": 80}],
    }
    assert classify(gif, Path("x.gif")).kind is MediaKind.ANIMATION

    with_cover = {
        "format": {"format_name": "mp3", "duration": "200", "tags": {"TITLE": "T", "ARTIST": "A"}},
        "streams": [
            {"codec_type": "audio", "codec_name": "mp3"},
            {"codec_type": "video", "codec_name": "mjpeg", "disposition": {"attached_pic": 1}},
        ],
    }
    assert classify(with_cover, Path("s.mp3")) == MediaInfo(
        MediaKind.AUDIO, duration=200, title="T", performer="A"
    )

    tty = {
        "format": {"format_name": "tty", "duration": "9.2"},
        "streams": [{"codec_type": "video", "codec_name": "ansi", "width": 640, "height": 400}],
    }
    assert classify(tty, Path("book.txt")) == MediaInfo()

    picture: dict[str, Any] = {"codec_type": "video", "codec_name": "h264"}
    picture |= {"width": 64, "height": 48}

    def mkv(seconds: str, *streams: dict[str, Any]) -> dict[str, Any]:
        container = {"format_name": "matroska,webm", "duration": seconds}
        return {"format": container, "streams": list(streams)}

    sound = {"codec_type": "audio", "codec_name": "aac"}
    assert classify(mkv("61", picture, sound), Path("x.mkv")).kind is MediaKind.VIDEO  # remuxed
    ac3 = {"codec_type": "audio", "codec_name": "ac3"}
    assert classify(mkv("61", picture, ac3), Path("x.mkv")) == MediaInfo()  # no inline play
    hevc = picture | {"codec_name": "hevc"}
    assert classify(mkv("3", hevc), Path("x.mkv")).kind is MediaKind.VIDEO  # animations: H.264

    flac = {
        "format": {"format_name": "flac", "duration": "20"},
        "streams": [{"codec_type": "audio", "codec_name": "flac"}],
    }
    assert classify(flac, Path("x.flac")) == MediaInfo()  # sendAudio takes MP3 and M4A only

    zero = {"format": {"duration": "0"}, "streams": [{"codec_type": "audio"}]}
    assert classify(zero, Path("z.m4a")) == MediaInfo()
    assert classify({}, Path("empty")) == MediaInfo()
