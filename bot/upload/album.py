"""Albums through the Bot API (sendMediaGroup): up to ten files in one message group, each with
its own caption, every file streamed from disk as a single send does (botapi.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import InputFile, InputMediaAudio, InputMediaDocument, InputMediaVideo
from telegram.constants import ParseMode

from bot.model.media import MediaKind
from bot.upload.types import Delivery, ProgressFn

ALBUM_MAX = 10  # Telegram's limit for sendMediaGroup
# What an album may hold together: videos (and photos), or sound alone, or documents alone.
ALBUM_KINDS = frozenset({MediaKind.VIDEO, MediaKind.AUDIO, MediaKind.DOCUMENT})

InputMedia = InputMediaVideo | InputMediaAudio | InputMediaDocument
# Opens a file for streaming: (path, size, progress) -> a handle PTB reads as the body goes out.
Opener = Callable[[Path, int, ProgressFn], Any]


@dataclass(frozen=True, slots=True)
class Resent:
    """A file Telegram has, to send again by file_id in an album."""

    kind: MediaKind
    file_id: str
    caption: str


def input_media(
    stack: contextlib.ExitStack,
    delivery: Delivery,
    opener: Opener,
    progress: ProgressFn,
    *,
    local_mode: bool,
) -> InputMedia:
    """The album entry for a file on disk; its handle (and thumbnail's) close with `stack`."""
    info = delivery.info
    media: Any
    if local_mode:
        media = delivery.path.resolve()
    else:
        body = stack.enter_context(opener(delivery.path, delivery.size, progress))
        media = InputFile(body, filename=delivery.filename, attach=True, read_file_handle=False)
    thumb = None
    picture = info.thumbnail
    if info.kind is not MediaKind.DOCUMENT and picture is not None and picture.is_file():
        handle = stack.enter_context(picture.open("rb"))
        thumb = InputFile(handle, filename="thumb.jpg", attach=True, read_file_handle=False)
    return _entry(info.kind, media, delivery.caption, delivery, thumb)


def resent_media(item: Resent) -> InputMedia:
    return _entry(item.kind, item.file_id, item.caption, None, None)


def _entry(
    kind: MediaKind, media: Any, caption: str, delivery: Delivery | None, thumb: InputFile | None
) -> InputMedia:
    info = delivery.info if delivery is not None else None
    if kind is MediaKind.VIDEO:
        return InputMediaVideo(
            media,
            caption=caption,
            parse_mode=ParseMode.HTML,
            duration=info.duration if info else None,
            width=info.width if info else None,
            height=info.height if info else None,
            supports_streaming=(info.streaming or None) if info else None,
            thumbnail=thumb,
        )
    if kind is MediaKind.AUDIO:
        return InputMediaAudio(
            media,
            caption=caption,
            parse_mode=ParseMode.HTML,
            duration=info.duration if info else None,
            title=info.title if info else None,
            performer=info.performer if info else None,
            thumbnail=thumb,
        )
    return InputMediaDocument(media, caption=caption, parse_mode=ParseMode.HTML)


def album_kind(kind: MediaKind) -> MediaKind | None:
    """The album a file of this kind may join; None: it goes on its own (an animation)."""
    return kind if kind in ALBUM_KINDS else None
