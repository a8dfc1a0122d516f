"""A file goes without an ffprobe only when it cannot be media: every container ffmpeg makes is
recognised by its first bytes even under a name that says nothing, and what is not media still
goes as a document, without an ffprobe run."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from bot.media.prepare import prepare
from bot.media.sniff import may_be_media
from bot.model.media import MediaFile, MediaInfo, MediaKind
from tests.fakes.media_files import make_audio, make_image, make_text, make_video

TONE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.5"]


def tone(path: Path, *codec: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", *TONE, *codec, str(path)],
        check=True,
        timeout=60,
    )
    return path


def unnamed(path: Path) -> Path:
    """The same bytes under a name that says nothing about them."""
    return path.rename(path.with_name(path.stem + "-" + path.suffix.lstrip(".") + ".bin"))


@pytest.mark.parametrize(
    "name", ["a.mp4", "a.mkv", "a.mov", "a.ts", "a.flv", "a.avi", "a.3gp", "a.mpg"]
)
def test_every_video_container_is_recognised_by_its_bytes(tmp_path: Path, name: str) -> None:
    audio = "mp3" if name in {"a.avi", "a.mpg"} else "aac"
    video = make_video(tmp_path / name, seconds=0.5, width=64, height=48, audio=audio)
    assert may_be_media(unnamed(video))


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("a.mp3", ()),
        ("a.m4a", ()),
        ("a.aac", ("-c:a", "aac")),
        ("a.flac", ()),
        ("a.wav", ()),
        ("a.ogg", ("-c:a", "libopus")),
        ("a.webm", ("-c:a", "libopus")),
    ],
)
def test_every_audio_container_is_recognised_by_its_bytes(
    tmp_path: Path, name: str, codec: tuple[str, ...]
) -> None:
    path = tmp_path / name
    made = make_audio(path, seconds=0.5) if name in {"a.mp3", "a.m4a"} else tone(path, *codec)
    assert may_be_media(unnamed(made))


async def test_a_video_under_a_bare_name_still_goes_as_video(tmp_path: Path) -> None:
    video = unnamed(make_video(tmp_path / "clip.mp4", seconds=1, width=64, height=48))
    prepared = await prepare(MediaFile(video))
    assert prepared.info.kind is MediaKind.VIDEO


def test_a_media_name_is_enough_to_ask_ffprobe(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp3"
    path.write_bytes(b"\0" * 4096)  # leading padding ffprobe would look past
    assert may_be_media(path)


@pytest.mark.parametrize("kind", ["random", "zip", "text", "png", "empty"])
def test_what_is_not_media_is_not_taken_for_media(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "download.bin"
    if kind == "random":
        path.write_bytes(b"\x13\x37" + os.urandom(64 * 1024))
    elif kind == "zip":
        path.write_bytes(b"PK\x03\x04" + b"\0" * 4000)
    elif kind == "text":
        make_text(path)
    elif kind == "png":
        make_image(tmp_path / "still.png").rename(path)
    else:
        path.write_bytes(b"")
    assert not may_be_media(path)


async def test_a_file_that_is_not_media_goes_without_ffprobe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # No ffmpeg tools on the PATH: a probe would be logged as a missing tool.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    path = tmp_path / "archive.zip"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 4000)
    with caplog.at_level(logging.INFO):
        prepared = await prepare(MediaFile(path))
    assert prepared.info == MediaInfo()
    assert prepared.size == 4004
    assert "media_tool_missing" not in caplog.text
