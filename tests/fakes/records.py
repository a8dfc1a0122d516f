"""Values the fake Bot API records for tests to inspect: calls, uploaded files, chat messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

# The upload methods and the parameter (and message key) each one carries its file in.
UPLOAD_METHODS: Mapping[str, str] = MappingProxyType(
    {
        "sendDocument": "document",
        "sendVideo": "video",
        "sendAudio": "audio",
        "sendAnimation": "animation",
        "sendPhoto": "photo",
        "sendVoice": "voice",
    }
)


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file the bot uploaded: its bytes were hashed while streaming, and kept only when the
    fake was asked to (`saved`). `atoms`: an MP4's top-level boxes in order ("ftyp", "moov",
    "mdat"...), empty for anything else."""

    field: str
    filename: str | None
    content_type: str | None
    size: int
    sha256: str
    atoms: tuple[str, ...] = ()
    saved: Path | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """One request the bot made to the fake Bot API, with the status it was answered with.

    `method` is spelled as Telegram documents it ("sendMessage"); `params` has JSON-encoded
    fields decoded; `files` maps the parameter name ("document", "thumbnail") to the upload.
    A status of 499 means the client went away before an answer was sent. `answer_lost`
    marks a call the fake performed (status 200) and then did not answer, on purpose.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    at: float
    status: int
    answer_lost: bool = False

    @property
    def ok(self) -> bool:
        """Whether the call was performed: answered with HTTP 200, or its answer lost."""
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        """The `chat_id` parameter, if the call had one."""
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None

    def summary(self) -> str:
        """A one-line description for failure messages."""
        shown = {k: v for k, v in self.params.items() if k not in {"reply_markup", "entities"}}
        text = repr(shown)
        if len(text) > 160:
            text = text[:157] + "..."
        files = f" files={sorted(self.files)}" if self.files else ""
        lost = " (answer lost)" if self.answer_lost else ""
        return f"{self.method} -> {self.status}{lost} {text}{files}"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message the bot currently has in a chat, with every edit applied."""

    message_id: int
    kind: str
    text: str | None
    caption: str | None
    reply_markup: dict[str, Any] | None
    file: UploadedFile | None
    file_id: str | None
    date: int
    edited: bool
    thread_id: int | None = None  # the forum topic it is in (None: General, or no forum)
    reply_to: int | None = None  # the message it answers

    @property
    def content(self) -> str:
        """The text, or the caption for media messages ("" when there is neither)."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row by row flattened."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file_id the fake issued, with the object Telegram would echo for it."""

    file_id: str
    kind: str
    obj: dict[str, Any]
    upload: UploadedFile
