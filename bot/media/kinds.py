"""Which kind of message a file becomes, decided from its container and its streams together.

Only containers that hold audio or video can become video, audio or an animation; anything else
is a document, whatever one of ffprobe's demuxers guessed (its `tty` demuxer reads any text as
an ANSI-art "video"). Video goes as video only when Telegram plays it inline, which is an MP4
with H.264 or HEVC video and AAC, MP3 or Opus sound; such video in another container (mkv,
mov, webm, MPEG-TS...) is remuxed into an MP4 first (remux.py). Other codecs (VP9, AV1, MPEG-4
Part 2...) go as documents: the Bot API promises inline playback for MPEG-4 video only.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.media.facts import Facts
from bot.model.media import MediaKind

# ffprobe's demuxer names for containers of sound and moving pictures.
MEDIA_CONTAINERS = frozenset(
    {
        *("mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"),
        *("mpegts", "mpeg", "flv", "avi", "asf", "gif"),
        *("mp3", "aac", "flac", "ogg", "wav", "aiff", "caf", "amr", "wv", "ape"),
    }
)
MP4_VIDEO = frozenset({"h264", "hevc"})  # what Telegram plays inline, in an MP4
MP4_AUDIO = frozenset({"aac", "mp3", "opus"})  # what may go with it (ffmpeg's mp4 muxer takes all)
ANIMATION_VIDEO = frozenset({"h264"})  # sendAnimation: GIF, or H.264 without sound
ANIMATION_MAX_SECONDS = 10.0  # a silent clip up to this long is shown as a GIF-like animation
QUICKTIME_BRAND = "qt"  # an MP4-like file that is QuickTime (.mov): remuxed into a real MP4


@dataclass(frozen=True, slots=True)
class Plan:
    """The kind to send; `mp4`: video that goes as an MP4 with its index first (remuxed when it
    is not one already)."""

    kind: MediaKind
    mp4: bool = False


def decide(facts: Facts) -> Plan:
    """How Telegram should show a file with these facts; a document when in doubt."""
    if facts.truncated or not facts.formats & MEDIA_CONTAINERS or facts.duration is None:
        return Plan(MediaKind.DOCUMENT)
    video, audio = facts.video, facts.audio
    if video is not None:
        if not video.width or not video.height:
            return Plan(MediaKind.DOCUMENT)
        if "gif" in facts.formats:
            return Plan(MediaKind.ANIMATION)
        if video.codec not in MP4_VIDEO or (audio is not None and audio.codec not in MP4_AUDIO):
            return Plan(MediaKind.DOCUMENT)
        short = (facts.seconds or 0) <= ANIMATION_MAX_SECONDS
        if audio is None and short and video.codec in ANIMATION_VIDEO:
            return Plan(MediaKind.ANIMATION, mp4=True)
        return Plan(MediaKind.VIDEO, mp4=True)
    if audio is not None and telegram_audio(facts):
        return Plan(MediaKind.AUDIO)
    return Plan(MediaKind.DOCUMENT)


def telegram_audio(facts: Facts) -> bool:
    """Whether sendAudio takes the file as it is: MP3, or M4A (AAC or ALAC in an MP4)."""
    codec = facts.audio.codec if facts.audio is not None else ""
    if "mp3" in facts.formats:
        return codec == "mp3"
    return is_mp4(facts) and codec in {"aac", "alac", "mp3"}


def is_mp4(facts: Facts) -> bool:
    """An MP4 (or M4A, 3GP...), not a QuickTime movie, going by ffprobe's container and brand."""
    brand = (facts.brand or "").strip().lower()
    return "mp4" in facts.formats and brand != QUICKTIME_BRAND
