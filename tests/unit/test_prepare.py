"""The post-process stage on real ffmpeg-made files: what each becomes, and that a stop leaves
neither an ffmpeg process nor a half-written file behind."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.media.facts import Facts, Track
from bot.media.mp4 import moov_first, top_level_atoms
from bot.media.prepare import prepare
from bot.media.remux import to_faststart_mp4
from bot.media.tools import produce
from bot.model.media import MediaFile, MediaInfo, MediaKind
from tests.fakes.media_files import make_audio, make_image, make_text, make_video


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def codecs(path: Path) -> list[tuple[str, str]]:
    return [(s["codec_type"], s["codec_name"]) for s in ffprobe(path)["streams"]]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def children() -> set[str]:
    found: set[str] = set()
    for task in Path("/proc/self/task").iterdir():
        # A pool thread may leave between the listing and the read; its children (none, or
        # reparented to a thread still here) are found under another task.
        with contextlib.suppress(OSError):
            found |= set((task / "children").read_text().split())
    return found


@pytest.fixture
def job(tmp_path: Path) -> Path:
    folder = tmp_path / "job"
    folder.mkdir()
    return folder


async def test_an_mp4_with_its_index_at_the_end_is_remuxed_in_place(job: Path) -> None:
    path = make_video(job / "late.mp4", 2, faststart=False)
    assert top_level_atoms(path).index("moov") > top_level_atoms(path).index("mdat")
    streams = codecs(path)

    ready = await prepare(MediaFile(path))

    assert ready.path == path  # same name: the remux replaced it
    atoms = top_level_atoms(path)
    assert atoms.index("moov") < atoms.index("mdat")
    assert codecs(path) == streams  # copied, not re-encoded
    assert (ready.info.kind, ready.info.streaming, ready.info.duration) == (
        MediaKind.VIDEO,
        True,
        2,
    )
    assert ready.size == path.stat().st_size
    assert names(job) == ["late.mp4", "late.mp4.thumb.jpg"]


async def test_an_mp4_with_its_index_first_goes_untouched(job: Path) -> None:
    path = make_video(job / "clip.mp4", 2)
    before = sha(path)

    ready = await prepare(MediaFile(path))

    assert (ready.path, sha(path)) == (path, before)
    assert ready.info.streaming is True


@pytest.mark.parametrize(
    ("video", "audio"), [("h264", "aac"), ("hevc", "opus"), ("h264", "mp3"), ("h264", None)]
)
async def test_mkv_with_mp4_codecs_becomes_an_mp4(
    job: Path, video: str, audio: str | None
) -> None:
    path = make_video(job / "film.mkv", 11, 160, 90, video=video, audio=audio)
    streams = codecs(path)

    ready = await prepare(MediaFile(path))

    assert ready.path == job / "film.mp4"
    assert not path.exists()  # the mkv went: no second copy on disk
    assert moov_first(ready.path)
    assert codecs(ready.path) == streams
    assert (ready.info.kind, ready.info.streaming) == (MediaKind.VIDEO, True)
    assert (ready.info.width, ready.info.height) == (160, 90)
    if video == "hevc":  # tagged the way Apple's players want
        assert ffprobe(ready.path)["streams"][0]["codec_tag_string"] == "hvc1"


async def test_a_short_silent_mkv_becomes_an_mp4_animation(job: Path) -> None:
    path = make_video(job / "loop.mkv", 2, 160, 90, audio=None)

    ready = await prepare(MediaFile(path))

    assert (ready.path.name, ready.info.kind) == ("loop.mp4", MediaKind.ANIMATION)
    assert moov_first(ready.path)


async def test_vp9_webm_goes_as_a_document_untouched(job: Path) -> None:
    path = make_video(job / "clip.webm", 2, video="vp9", audio="opus")
    before = sha(path)

    ready = await prepare(MediaFile(path))

    assert (ready.path, ready.info) == (path, MediaInfo())
    assert sha(path) == before


async def test_text_goes_as_a_document(job: Path) -> None:
    path = make_text(job / "notes.txt")

    ready = await prepare(MediaFile(path))

    assert (ready.path, ready.size, ready.info) == (path, 41_000, MediaInfo())


async def test_the_sound_of_a_video_is_tagged_with_the_page_and_its_picture(job: Path) -> None:
    path = make_video(job / "media.ts", 3, 640, 360)
    (job / "cover").mkdir()
    picture = make_image(job / "cover" / "og.png", 1280, 720)
    media = MediaFile(path, "Evening Tune", "The Band", picture, audio_only=True)

    ready = await prepare(media)

    assert ready.path == job / "media.m4a"
    assert not path.exists()
    info = ready.info
    assert (info.kind, info.title, info.performer, info.duration) == (
        MediaKind.AUDIO,
        "Evening Tune",
        "The Band",
        3,
    )
    assert info.thumbnail is not None and info.thumbnail.read_bytes()[:2] == b"\xff\xd8"
    probed = ffprobe(ready.path)
    tags = probed["format"]["tags"]
    assert (tags["title"], tags["artist"]) == ("Evening Tune", "The Band")
    assert ("audio", "aac") in codecs(ready.path)
    cover = [s for s in probed["streams"] if s["codec_type"] == "video"]
    assert [s["disposition"]["attached_pic"] for s in cover] == [1]  # the cover, not a video


async def test_opus_sound_is_encoded_to_aac_for_send_audio(job: Path) -> None:
    path = make_video(job / "media.webm", 2, video="vp9", audio="opus")

    ready = await prepare(MediaFile(path, "Talk", audio_only=True))

    assert ready.path.suffix == ".m4a"
    assert codecs(ready.path) == [("audio", "aac")]
    assert ready.info.kind is MediaKind.AUDIO


async def test_an_mp3_from_a_page_stays_mp3_with_the_page_tags(job: Path) -> None:
    path = make_audio(job / "media.mp3", 2, title="old", artist="old")

    ready = await prepare(MediaFile(path, "Song", "Singer"))

    assert ready.path == path
    assert codecs(path) == [("audio", "mp3")]
    tags = ffprobe(path)["format"]["tags"]
    assert (tags["title"], tags["artist"]) == ("Song", "Singer")
    assert (ready.info.title, ready.info.performer) == ("Song", "Singer")


async def test_a_plain_audio_file_keeps_its_own_tags(job: Path) -> None:
    path = make_audio(job / "song.m4a", 2, title="Tune", artist="Tests")
    before = sha(path)

    ready = await prepare(MediaFile(path))

    assert sha(path) == before
    assert ready.info == MediaInfo(MediaKind.AUDIO, 2, title="Tune", performer="Tests")


async def test_a_stop_during_a_remux_kills_ffmpeg(job: Path) -> None:
    """The input is a pipe ffmpeg waits on, so the remux runs until the stop."""
    pipe = job / "in.mkv"
    os.mkfifo(pipe)
    facts = Facts(frozenset({"matroska"}), video=Track(0, "h264", 64, 48), seconds=60)
    before = children()
    task = asyncio.create_task(to_faststart_mp4(pipe, facts))
    writer = await asyncio.to_thread(pipe.open, "wb")  # returns once ffmpeg opened the pipe
    try:
        assert children() != before  # ffmpeg runs
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert children() == before
        assert names(job) == ["in.mkv"]
    finally:
        writer.close()


async def test_a_stopped_tool_leaves_no_partial_file(job: Path) -> None:
    """The tool wrote half its output, then the job stopped: the half goes, the source stays."""
    source = job / "source.bin"
    source.write_bytes(b"x")
    partial, ready = job / "out.partial", job / "ready"
    os.mkfifo(ready)
    script = f'echo half > "$0"; echo written > {ready}; exec sleep 600'
    task = asyncio.create_task(
        produce(
            ["sh", "-c", script],
            source=source,
            partial=partial,
            target=job / "out",
            limit=60,
            event="test",
            step="test",
        )
    )
    await asyncio.to_thread(ready.read_bytes)  # the tool has written its half
    assert partial.exists()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not partial.exists()
    assert source.read_bytes() == b"x"


def test_atoms_with_a_64_bit_size_are_read(tmp_path: Path) -> None:
    path = tmp_path / "big.mp4"
    ftyp = (16).to_bytes(4, "big") + b"ftypisom" + b"\0\0\0\0"
    big_mdat = (1).to_bytes(4, "big") + b"mdat" + (16 + 100).to_bytes(8, "big") + b"\0" * 100
    moov = (8).to_bytes(4, "big") + b"moov"
    path.write_bytes(ftyp + big_mdat + moov)

    assert top_level_atoms(path) == ["ftyp", "mdat", "moov"]
    assert not moov_first(path)
    (tmp_path / "notes.txt").write_text("ftyp? no")
    assert top_level_atoms(tmp_path / "notes.txt") == []
