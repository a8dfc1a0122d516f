"""probe(): real ffmpeg-made files are told apart; broken files become documents, never errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bot.media.probe import THUMB_MAX_BYTES, THUMB_SIDE, classify, probe
from bot.model.media import MediaInfo, MediaKind
from tests.fakes.media_files import make_audio, make_gif_like, make_video


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


async def test_missing_file_is_a_document(tmp_path: Path) -> None:
    assert await probe(tmp_path / "gone.mp4") == MediaInfo()


def children() -> set[str]:
    found: set[str] = set()
    for task in Path("/proc/self/task").iterdir():
        found |= set((task / "children").read_text().split())
    return found


async def test_timeout_kills_ffprobe(made: dict[str, Path]) -> None:
    before = children()

    info = await probe(made["video"], timeout=0.0001)

    assert info == MediaInfo()
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

    zero = {"format": {"duration": "0"}, "streams": [{"codec_type": "audio"}]}
    assert classify(zero, Path("z.m4a")) == MediaInfo()
    assert classify({}, Path("empty")) == MediaInfo()
