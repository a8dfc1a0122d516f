"""Real media files for tests, made with ffmpeg: short h264/aac videos, tagged audio, silent clips.

These run ffmpeg synchronously; from async code call them through `asyncio.to_thread`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FFMPEG_TIMEOUT = 120.0


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("ffmpeg is not installed; it is needed to make media files")
    return exe


def _run(args: list[str], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args, str(path)]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT)
    except subprocess.CalledProcessError as err:
        stderr = err.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"ffmpeg failed making {path.name}: {stderr}") from err
    return path


def make_video(
    path: Path,
    seconds: float = 2,
    width: int = 320,
    height: int = 240,
    *,
    title: str | None = None,
) -> Path:
    """An h264 + aac mp4 (test pattern and a tone) with the moov atom up front."""
    metadata = ["-metadata", f"title={title}"] if title else []
    return _run(
        [
            *("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={seconds}"),
            *("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart"),
            *metadata,
        ],
        path,
    )


def make_audio(
    path: Path,
    seconds: float = 2,
    *,
    title: str = "Test Tone",
    artist: str = "tgfetch tests",
) -> Path:
    """A tagged tone: AAC in .m4a, or MP3 when `path` ends in .mp3."""
    codec = ["-c:a", "libmp3lame", "-b:a", "96k"] if path.suffix == ".mp3" else ["-c:a", "aac"]
    return _run(
        [
            *("-f", "lavfi", "-i", f"sine=frequency=660:sample_rate=44100:duration={seconds}"),
            "-vn",
            *codec,
            *("-metadata", f"title={title}", "-metadata", f"artist={artist}"),
        ],
        path,
    )


def make_gif_like(path: Path, seconds: float = 1, width: int = 160, height: int = 120) -> Path:
    """A short silent h264 mp4, the kind Telegram shows as an animation."""
    return _run(
        [
            *("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=15:duration={seconds}"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an"),
            *("-movflags", "+faststart"),
        ],
        path,
    )
