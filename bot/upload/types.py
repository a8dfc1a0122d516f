"""Values passed between the job runner and the deliverers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.model.media import MediaInfo, MediaKind

# (bytes sent so far, total bytes); called from the event loop, must not block.
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One file to send into one chat."""

    chat_id: int
    path: Path
    filename: str
    caption: str  # HTML, already rendered in the user's language
    size: int
    info: MediaInfo
    reply_to: int | None = None  # the user's message with the link: the file answers it


@dataclass(frozen=True, slots=True)
class Delivered:
    """What Telegram answered: enough to resend the same file later by file_id."""

    message_id: int
    file_id: str
    kind: MediaKind
    route: str  # "botapi" or "mtproto"


@dataclass(frozen=True, slots=True)
class Document:
    """A document sent while its file is still arriving (streaming.py): where, what, its size."""

    chat_id: int
    filename: str
    caption: str  # HTML, already rendered in the user's language
    size: int
    reply_to: int | None = None
