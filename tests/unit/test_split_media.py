"""Real ffmpeg cuts (small files, a small limit): every part plays on its own, fits the limit,
and the parts' durations add up to the source's, for video and for audio."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from bot.media.probe import read
from bot.media.split import cut_media, plan_media
from bot.model.media import MediaKind
from tests.fakes.media_files import make_audio


def keyframed_video(path: Path) -> None:
    """6 s of a test pattern and a tone with a keyframe every second: places to cut."""
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi"]
    args += ["-i", "testsrc2=size=320x240:rate=25:duration=6", "-f", "lavfi"]
    args += ["-i", "sine=frequency=440:duration=6", "-c:v", "libx264", "-preset", "ultrafast"]
    args += ["-g", "25", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)]
    subprocess.run(args, check=True)


@pytest.mark.parametrize(
    ("name", "kind", "limit"),
    [("clip.mp4", MediaKind.VIDEO, 250_000), ("song.m4a", MediaKind.AUDIO, 40_000)],
)
async def test_parts_play_fit_and_add_up(
    tmp_path: Path, name: str, kind: MediaKind, limit: int
) -> None:
    source = tmp_path / name
    if kind is MediaKind.VIDEO:
        await asyncio.to_thread(keyframed_video, source)
    else:
        await asyncio.to_thread(make_audio, source, 8)
    facts = await read(source)
    assert facts is not None and facts.seconds is not None
    size = source.stat().st_size
    assert size > limit  # there is something to cut

    cuts = await plan_media(source, facts, limit)

    assert cuts is not None and len(cuts) >= 2
    total = 0.0
    for cut in cuts:
        part = await cut_media(source, cut, kind, tmp_path)
        assert part is not None
        assert part.size <= limit
        assert part.info.kind is kind
        assert part.info.duration is not None
        seen = await read(part.path)
        assert seen is not None and seen.seconds is not None
        total += seen.seconds
        if kind is MediaKind.VIDEO:
            assert part.info.streaming  # an MP4 with its index first
            assert part.info.thumbnail is not None
        part.path.unlink()  # one part on disk at a time, as the bot does
    assert abs(total - facts.seconds) <= 0.1 * len(cuts)
