"""Values passed between the job runner and the deliverers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.model.media import MediaInfo, MediaKind

# (bytes sent so far, total bytes); called from the event loop, must not block.
ProgressFn = Callable[[int, int], None]
# Awaited before a send's last byte leaves (or, for a request without a body to hold, before
# it goes): a worker's claim confirmed (remote/claim.py). A fence that cannot pass never
# returns; the send is stopped around it.
Fence = Callable[[], Awaitable[None]]


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
    thread_id: int | None = None  # the forum topic the link came from
    fence: Fence | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Uploaded:
    """What Telegram answered to an upload: enough to resend the same file later by file_id."""

    message_id: int
    file_id: str
    kind: MediaKind
    route: str  # "botapi" or "mtproto"


@dataclass(frozen=True, slots=True)
class StreamedDocument:
    """A document sent while its file is still arriving (streaming.py): where, what, its size."""

    chat_id: int
    filename: str
    caption: str  # HTML, already rendered in the user's language
    size: int
    reply_to: int | None = None
    thread_id: int | None = None  # the forum topic the link came from
