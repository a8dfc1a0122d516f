"""Real media files for tests, made with ffmpeg: short videos in several containers and codecs,
tagged audio, silent clips, a two-variant HLS stream, text that ffprobe mistakes for video.

These run ffmpeg synchronously; from async code call them through `asyncio.to_thread`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import MappingProxyType

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


_VIDEO_CODECS = MappingProxyType(
    {
        "h264": ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        "hevc": (
            *("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-tag:v", "hvc1"),
            *("-x265-params", "log-level=error"),
        ),
        "vp9": ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"),
    }
)
_AUDIO_CODECS = MappingProxyType(
    {
        "aac": ("-c:a", "aac", "-b:a", "64k"),
        "opus": ("-c:a", "libopus", "-b:a", "48k"),
        "mp3": ("-c:a", "libmp3lame", "-b:a", "64k"),
    }
)


def make_video(
    path: Path,
    seconds: float = 2,
    width: int = 320,
    height: int = 240,
    *,
    title: str | None = None,
    faststart: bool = True,
    video: str = "h264",
    audio: str | None = "aac",
) -> Path:
    """A video (test pattern and a tone) in the container `path` names: h264 + aac by default,
    or `video` hevc/vp9 and `audio` opus/mp3/None. An mp4 has its moov atom up front unless
    `faststart` is False (then it comes after the media, ffmpeg's default)."""
    metadata = ["-metadata", f"title={title}"] if title else []
    tone = f"sine=frequency=440:duration={seconds}"
    sound = [] if audio is None else ["-f", "lavfi", "-i", tone]
    codecs = [*_VIDEO_CODECS[video], *(_AUDIO_CODECS[audio] if audio else ["-an"])]
    moov = ["-movflags", "+faststart"] if faststart and path.suffix in {".mp4", ".mov"} else []
    return _run(
        [
            *("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={seconds}"),
            *sound,
            *codecs,
            *(["-shortest"] if audio else []),
            *moov,
            *metadata,
        ],
        path,
    )


def make_hls(
    folder: Path,
    name: str = "master",
    heights: tuple[int, ...] = (360, 720),
    seconds: float = 3,
) -> Path:
    """A master playlist `{name}.m3u8` over one h264 + aac variant per height (16:9, bitrate
    growing with the height), every file flat in `folder` (`{name}_{height}p.m3u8` and its
    `.ts` segments). Each variant carries the same audio."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for height in heights:
        width = height * 16 // 9 // 2 * 2
        rate = width * height // 210  # kbit/s, by the pixels: 360p 1097k, 720p 4388k
        variant = f"{name}_{height}p"
        pattern = f"testsrc2=size={width}x{height}:rate=25:duration={seconds}"
        _run(
            [
                *("-f", "lavfi", "-i", pattern),
                *("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"),
                *_VIDEO_CODECS["h264"],
                *("-b:v", f"{rate}k", "-maxrate", f"{rate}k", "-bufsize", f"{rate}k"),
                *_AUDIO_CODECS["aac"],
                *("-shortest", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"),
                *("-hls_segment_filename", str(folder / f"{variant}_%d.ts")),
            ],
            folder / f"{variant}.m3u8",
        )
        bandwidth = (rate + 64) * 1000
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},"
            'CODECS="avc1.64001f,mp4a.40.2"'
        )
        lines.append(f"{variant}.m3u8")
    master = folder / f"{name}.m3u8"
    master.write_text("\n".join(lines) + "\n")
    return master


def make_text(path: Path, size: int = 41_000) -> Path:
    """Plain prose, which ffprobe's `tty` demuxer reads as an ANSI-art "video"."""
    words = ("the", "cat", "plays", "piano", "every", "evening", "while", "we", "listen")
    text: list[str] = []
    n = length = 0
    while length < size:
        text.append(" ".join(words[(n + k) % len(words)] for k in range(11)) + ".\n")
        length += len(text[-1])
        n += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(text)[:size])
    return path


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


def make_image(path: Path, width: int = 640, height: int = 360) -> Path:
    """A still test pattern; its format follows the suffix (.jpg, .png, .webp)."""
    return _run(
        ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}", "-frames:v", "1"],
        path,
    )


def make_huge_frames(path: Path, side: int = 8192, seconds: int = 2) -> Path:
    """A small h264 mp4 whose frames are `side` x `side` pixels (black, one a second): a few
    hundred kilobytes that ask a decoder for hundreds of megabytes a frame."""
    return _run(
        [
            *("-f", "lavfi", "-i", f"color=black:size={side}x{side}:rate=1:duration={seconds}"),
            *_VIDEO_CODECS["h264"],
            *("-movflags", "+faststart"),
        ],
        path,
    )


def make_many_streams(path: Path, count: int = 500, seconds: float = 1) -> Path:
    """An mkv of `count` streams, half of them copies of one small h264 video and half of one
    AAC tone (encoded once, then mapped `count` times)."""
    one = make_video(path.with_name(f"{path.stem}.one.mkv"), seconds, 64, 48)
    half = count // 2
    maps = [*("-map", "0:v:0") * half, *("-map", "0:a:0") * (count - half)]
    try:
        return _run(["-i", str(one), *maps, "-c", "copy"], path)
    finally:
        one.unlink()
