"""What kind of media a file is, as Telegram shows it, and what a probe learnt about it."""

from __future__ import annotations

from dataclasses import dataclass
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
