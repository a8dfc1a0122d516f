"""What ffprobe's JSON says about a file, reduced to what the media decisions need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRUNCATED_RATIO = 0.9  # less of the file than this share of what its streams need: cut off
_IMAGE_CODECS = frozenset({"mjpeg", "png", "bmp", "webp", "tiff", "jpegls", "jpeg2000", "qoi"})


@dataclass(frozen=True, slots=True)
class Track:
    """One stream: its index in the file, its codec; for video its upright size."""

    index: int
    codec: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """The container (ffprobe's demuxer names, an MP4's brand), the first moving picture and the
    first sound (or the first still picture), the duration, the tags, and whether the file is
    shorter than its own index."""

    formats: frozenset[str]
    brand: str | None = None
    seconds: float | None = None
    video: Track | None = None
    audio: Track | None = None
    picture: Track | None = None  # a still: a JPEG or PNG, an MP3's cover
    sized: bool = True  # the container says the video's size (MPEG-TS does not: a frame does)
    title: str | None = None
    artist: str | None = None
    truncated: bool = False

    @property
    def duration(self) -> int | None:
        """Whole seconds, at least 1; None when unknown or zero."""
        return max(1, round(self.seconds)) if self.seconds else None


def number(value: object) -> float | None:
    try:
        result = float(str(value))
    except ValueError:
        return None
    return result if result == result and result >= 0 else None  # NaN fails the first test


def tag(tags: object, name: str) -> str | None:
    if not isinstance(tags, dict):
        return None
    for key, value in tags.items():
        if str(key).lower() == name and isinstance(value, str) and value.strip():
            return value.strip()[:256]
    return None


def read_facts(data: dict[str, Any]) -> Facts:
    """Facts from ffprobe's `-show_format -show_streams` JSON (anything malformed is ignored)."""
    raw_format = data.get("format")
    fmt: dict[str, Any] = raw_format if isinstance(raw_format, dict) else {}
    streams = [s for s in data.get("streams") or [] if isinstance(s, dict)]
    format_name = str(fmt.get("format_name", ""))
    pictures = [s for s in streams if s.get("codec_type") == "video"]
    videos = [s for s in pictures if not _is_picture(s, format_name)]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    seconds = number(fmt.get("duration"))
    if seconds is None:
        seconds = max((number(s.get("duration")) or 0 for s in videos + audios), default=0)
    tags = fmt.get("tags")
    first_audio = audios[0] if audios else {}
    return Facts(
        formats=frozenset(n.strip() for n in format_name.split(",") if n.strip()),
        brand=tag(tags, "major_brand"),
        seconds=seconds or None,
        video=_video(videos[0]) if videos else None,
        audio=_track(audios[0]) if audios else None,
        picture=_video(pictures[0]) if pictures and not videos else None,
        title=tag(tags, "title") or tag(first_audio.get("tags"), "title"),
        artist=tag(tags, "artist") or tag(first_audio.get("tags"), "artist"),
        truncated=_truncated(fmt, streams),
    )


def _track(stream: dict[str, Any]) -> Track:
    index = stream.get("index")
    return Track(index if isinstance(index, int) else 0, str(stream.get("codec_name") or ""))


def _video(stream: dict[str, Any]) -> Track:
    width, height = number(stream.get("width")), number(stream.get("height"))
    if _rotated(stream):
        width, height = height, width
    return Track(
        _track(stream).index,
        _track(stream).codec,
        int(width) if width else None,
        int(height) if height else None,
    )


def _is_picture(stream: dict[str, Any], format_name: str) -> bool:
    disposition = stream.get("disposition")
    attached = isinstance(disposition, dict) and disposition.get("attached_pic") == 1
    still = "image2" in format_name or format_name.endswith("_pipe")
    return attached or still or stream.get("codec_name") in _IMAGE_CODECS


def _rotated(stream: dict[str, Any]) -> bool:
    angles = [tag(stream.get("tags"), "rotate")]
    side_data = stream.get("side_data_list")
    if isinstance(side_data, list):
        angles += [str(d.get("rotation")) for d in side_data if isinstance(d, dict)]
    return any((number(str(a).lstrip("-")) or 0) % 180 == 90 for a in angles if a)


def _truncated(fmt: dict[str, Any], streams: list[dict[str, Any]]) -> bool:
    """Whether the file is shorter than its own index says (an MP4 cut off mid-download)."""
    size = number(fmt.get("size"))
    rates = [(number(s.get("bit_rate")), number(s.get("duration"))) for s in streams]
    expected = sum(rate * seconds / 8 for rate, seconds in rates if rate and seconds)
    return size is not None and expected > 0 and size < expected * TRUNCATED_RATIO
