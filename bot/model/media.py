"""What kind of media a file is, as Telegram shows it, what a probe learnt about it, and the
post-process stage's way in (a fetched file and what its page said) and out (a file to send)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path


class MediaKind(StrEnum):
    """How Telegram shows the file."""

    DOCUMENT = "document"
    VIDEO = "video"
    AUDIO = "audio"
    ANIMATION = "animation"


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What ffprobe learnt about a file; a document when it learnt nothing."""

    kind: MediaKind = MediaKind.DOCUMENT
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    title: str | None = None
    performer: str | None = None
    thumbnail: Path | None = None
    # An MP4 whose index (moov) comes before the media: a player starts it while it loads.
    streaming: bool = False


def as_sent(info: MediaInfo, as_file: bool) -> MediaInfo:
    """The info a file goes with: a video as a document for a user who wants videos as files
    (their thumbnail kept), anything else as it is."""
    if as_file and info.kind is MediaKind.VIDEO:
        return replace(info, kind=MediaKind.DOCUMENT)
    return info


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A fetched file and what its page said about it: what the post-process stage works on."""

    path: Path
    title: str | None = None
    performer: str | None = None
    cover: Path | None = None  # the page's picture, fetched into the job's folder
    audio_only: bool = False  # the user asked for the sound alone


@dataclass(frozen=True, slots=True)
class Prepared:
    """A file ready to send (the fetched one, or a remuxed or tagged copy that replaced it)."""

    path: Path
    size: int
    info: MediaInfo
