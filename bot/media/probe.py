"""What kind of media a file is (ffprobe), and a small JPEG thumbnail for videos (ffmpeg)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from bot.model.media import MediaInfo, MediaKind

log = logging.getLogger(__name__)

ANIMATION_MAX_SECONDS = 10.0  # a silent clip up to this long is shown as a GIF-like animation
THUMB_SIDE = 320  # Telegram's limit for thumbnails, on the long side
THUMB_MAX_BYTES = 200 * 1024
TRUNCATED_RATIO = 0.9  # less of the file than this share of what its streams need: cut off
_THUMB_QUALITIES = (4, 10, 20, 31)  # ffmpeg's -q:v, best first: retried until small enough
_IMAGE_CODECS = frozenset({"mjpeg", "png", "bmp", "webp", "tiff", "jpegls", "jpeg2000", "qoi"})


async def _run(args: list[str], limit: float) -> tuple[int, bytes] | None:
    """Run a tool; (exit status, stdout), or None if it is missing or ran out of time."""
    try:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        log.warning("media_tool_missing tool=%s error=%s", args[0], type(exc).__name__)
        return None
    try:
        async with asyncio.timeout(limit):
            stdout, _ = await process.communicate()
    except TimeoutError:
        log.warning("media_tool_timeout tool=%s seconds=%.0f", args[0], limit)
        return None
    finally:
        if process.returncode is None:  # timed out or cancelled: never leave it running
            process.kill()
            await process.wait()
    return process.returncode or 0, stdout


def _number(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if number == number and number >= 0 else None  # NaN fails the first test


def _tag(tags: object, name: str) -> str | None:
    if not isinstance(tags, dict):
        return None
    for key, value in tags.items():
        if str(key).lower() == name and isinstance(value, str) and value.strip():
            return value.strip()[:256]
    return None


def _is_picture(stream: dict[str, Any], format_name: str) -> bool:
    disposition = stream.get("disposition")
    attached = isinstance(disposition, dict) and disposition.get("attached_pic") == 1
    still = "image2" in format_name or format_name.endswith("_pipe")
    return attached or still or stream.get("codec_name") in _IMAGE_CODECS


def _rotated(stream: dict[str, Any]) -> bool:
    angles = [_tag(stream.get("tags"), "rotate")]
    side_data = stream.get("side_data_list")
    if isinstance(side_data, list):
        angles += [str(d.get("rotation")) for d in side_data if isinstance(d, dict)]
    return any((_number(str(a).lstrip("-")) or 0) % 180 == 90 for a in angles if a)


def _truncated(fmt: dict[str, Any], streams: list[dict[str, Any]]) -> bool:
    """Whether the file is shorter than its own index says (an MP4 cut off mid-download)."""
    size = _number(fmt.get("size"))
    rates = [(_number(s.get("bit_rate")), _number(s.get("duration"))) for s in streams]
    expected = sum(rate * seconds / 8 for rate, seconds in rates if rate and seconds)
    return size is not None and expected > 0 and size < expected * TRUNCATED_RATIO


def classify(data: dict[str, Any], path: Path) -> MediaInfo:
    """Turn ffprobe's JSON into MediaInfo (no thumbnail); a document when in doubt."""
    raw_format = data.get("format")
    fmt: dict[str, Any] = raw_format if isinstance(raw_format, dict) else {}
    streams = [s for s in data.get("streams") or [] if isinstance(s, dict)]
    if _truncated(fmt, streams):
        return MediaInfo()
    format_name = str(fmt.get("format_name", ""))
    videos = [
        s for s in streams if s.get("codec_type") == "video" and not _is_picture(s, format_name)
    ]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    seconds = _number(fmt.get("duration"))
    if seconds is None:
        seconds = max((_number(s.get("duration")) or 0 for s in videos + audios), default=0)
    duration = max(1, round(seconds)) if seconds > 0 else None
    is_gif = format_name == "gif" or path.suffix.lower() == ".gif"
    if videos and duration is not None:
        video = videos[0]
        width, height = _number(video.get("width")), _number(video.get("height"))
        if not width or not height:
            return MediaInfo()
        if _rotated(video):
            width, height = height, width
        silent_short = not audios and seconds <= ANIMATION_MAX_SECONDS
        kind = MediaKind.ANIMATION if is_gif or silent_short else MediaKind.VIDEO
        return MediaInfo(kind, duration, int(width), int(height))
    if audios and duration is not None and not videos:
        tags = fmt.get("tags")
        title = _tag(tags, "title") or _tag(audios[0].get("tags"), "title")
        artist = _tag(tags, "artist") or _tag(audios[0].get("tags"), "artist")
        return MediaInfo(MediaKind.AUDIO, duration, title=title, performer=artist)
    return MediaInfo()


async def _thumbnail(path: Path, seconds: int, limit: float) -> Path | None:
    target = path.with_name(path.name + ".thumb.jpg")
    at = f"{min(1.0, seconds / 3):.2f}"
    scale = f"scale={THUMB_SIDE}:{THUMB_SIDE}:force_original_aspect_ratio=decrease"
    for quality in _THUMB_QUALITIES:
        args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", at, "-i", str(path)]
        args += ["-frames:v", "1", "-vf", scale, "-q:v", str(quality), "-f", "mjpeg", str(target)]
        result = await _run(args, limit)
        if result is None or result[0] != 0:
            break
        size = await asyncio.to_thread(lambda: target.stat().st_size if target.exists() else 0)
        if 0 < size <= THUMB_MAX_BYTES:
            return target
    await asyncio.to_thread(target.unlink, missing_ok=True)
    log.debug("media_no_thumbnail")
    return None


async def probe(path: Path, *, timeout: float = 20) -> MediaInfo:  # noqa: ASYNC109
    """Learn the file's kind, duration, size and tags; never raises for a bad file.

    `timeout` bounds each ffprobe/ffmpeg run, which is killed when it runs out: a caller's
    own deadline would raise instead of falling back to a document.
    """
    args = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    result = await _run([*args, str(path)], timeout)
    if result is None or result[0] != 0:
        return MediaInfo()
    try:
        data = json.loads(result[1])
    except ValueError:
        return MediaInfo()
    info = classify(data if isinstance(data, dict) else {}, path)
    if info.kind in (MediaKind.VIDEO, MediaKind.ANIMATION) and info.duration:
        thumbnail = await _thumbnail(path, info.duration, timeout)
        info = MediaInfo(info.kind, info.duration, info.width, info.height, thumbnail=thumbnail)
    log.info("media_probed kind=%s duration=%s", info.kind, info.duration)
    return info
