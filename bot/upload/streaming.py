"""A document sent to the Bot API while its file is still being written: a body of our own.

PTB hands a file to httpx, whose multipart body reads it synchronously on the event loop; a
read that waited for a download running on the same loop would stall both. This body is an
async stream of exactly known length (the form's head, the file's announced size, its tail)
that reads the growing file (growing.py) one chunk at a time as its bytes reach the disk. It
goes through the bot's own request layer (telegram_io/request.py: the same client, proxy and
base URL), once: after a refusal or a failure before the whole body left it answers None and
the caller sends the file the ordinary way; an answer lost after the whole body left raises
UnconfirmedDeliveryError, never a second copy.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.model.failures import UnconfirmedDeliveryError
from bot.model.media import MediaKind
from bot.telegram_io.failures import AnswerLostError
from bot.telegram_io.lanes import Lanes, Priority
from bot.telegram_io.request import StreamedData
from bot.telegram_io.timeouts import DEFAULT_ANSWER_TIMEOUT_S, upload_read_timeout
from bot.upload.botapi import CONNECT_TIMEOUT_S, POOL_TIMEOUT_S, ROUTE, WRITE_TIMEOUT_S
from bot.upload.types import ProgressFn, StreamedDocument, Uploaded

log = logging.getLogger(__name__)

# What a form's quoted parameter cannot hold as it is (as httpx and browsers encode it).
_QUOTED = {'"': "%22", "\\": "\\\\", **{chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}}
_QUOTED_RE = re.compile("|".join(re.escape(c) for c in _QUOTED))


@dataclass(frozen=True, slots=True)
class MultipartBody:
    """A multipart/form-data body with text fields and one file of known size, last."""

    boundary: str
    head: bytes
    tail: bytes
    size: int  # the file's bytes between head and tail

    @classmethod
    def of(
        cls,
        fields: Mapping[str, str],
        file_field: str,
        filename: str,
        size: int,
        boundary: str | None = None,
    ) -> MultipartBody:
        boundary = boundary or secrets.token_hex(16)
        parts = [
            f"--{boundary}\r\nContent-Disposition: form-data; {_param('name', name)}\r\n\r\n"
            f"{value}\r\n"
            for name, value in fields.items()
        ]
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; {_param('name', file_field)}; "
            f"{_param('filename', filename)}\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        head = "".join(parts).encode()
        return cls(boundary, head, f"\r\n--{boundary}--\r\n".encode(), size)

    @property
    def length(self) -> int:
        """The Content-Length: the body's every byte."""
        return len(self.head) + self.size + len(self.tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"


class BodyStream:
    """The body's bytes in order, the file's from `data`; `whole` once every one was written
    (asked for the next chunk after the last, the connection has taken them all)."""

    def __init__(
        self, body: MultipartBody, data: AsyncIterable[bytes], progress: ProgressFn
    ) -> None:
        self._body = body
        self._data = data
        self._progress = progress
        self.whole = False

    async def chunks(self) -> AsyncIterator[bytes]:
        body = self._body
        yield body.head
        sent = 0
        async for chunk in self._data:
            sent += len(chunk)
            if sent > body.size:
                raise OSError(f"the file grew past its announced {body.size} bytes")
            yield chunk
            self._progress(sent, body.size)  # the chunk has gone to the connection
        if sent != body.size:
            raise OSError(f"the file ended at {sent} of its announced {body.size} bytes")
        yield body.tail
        self.whole = True


class StreamingUploader:
    """Sends a document whose bytes come from a stream, through the bot's request layer."""

    def __init__(
        self,
        bot: Bot,
        lanes: Lanes,
        *,
        limit: int,
        answer_timeout: float = DEFAULT_ANSWER_TIMEOUT_S,
    ) -> None:
        self._bot = bot
        self._lanes = lanes
        self._answer_timeout = answer_timeout
        self.limit = limit  # the largest file this route takes (the Bot API's upload limit)

    async def send(
        self, document: StreamedDocument, data: AsyncIterable[bytes], progress: ProgressFn
    ) -> Uploaded | None:
        """sendDocument with the file's bytes from `data` (exactly `document.size` of them);
        None when it was not sent (refused, or broken before the body was whole)."""
        fields = {
            "chat_id": str(document.chat_id),
            "caption": document.caption,
            "parse_mode": ParseMode.HTML.value,
        }
        if document.reply_to is not None:
            reply = {"message_id": document.reply_to, "allow_sending_without_reply": True}
            fields["reply_parameters"] = json.dumps(reply)
        if document.thread_id is not None:
            fields["message_thread_id"] = str(document.thread_id)
        body = MultipartBody.of(fields, "document", document.filename, document.size)
        stream = BodyStream(body, data, progress)
        request = StreamedData(
            stream.chunks(), body.content_type, body.length, lambda: stream.whole
        )
        try:
            # Its turn like any file's; a 429 pauses the chat, and the file then goes the
            # ordinary way once it is whole (a stream is not sent twice).
            result = await self._lanes.call(
                document.chat_id,
                Priority.ANSWER,
                lambda: self._bot.request.post(
                    f"{self._bot.base_url}/sendDocument",
                    request,
                    read_timeout=upload_read_timeout(document.size, self._answer_timeout),
                    write_timeout=WRITE_TIMEOUT_S,
                    connect_timeout=CONNECT_TIMEOUT_S,
                    pool_timeout=POOL_TIMEOUT_S,
                ),
                upload=True,
                repeat=False,
            )
        except AnswerLostError as exc:
            raise UnconfirmedDeliveryError(ROUTE, str(exc)) from exc
        except TelegramError as exc:  # refused, or broken before the body was whole
            log.info("stream_upload_refused error=%r", exc.message)
            return None
        try:
            message = Message.de_json(result, self._bot) if isinstance(result, dict) else None
        except Exception as exc:  # Telegram took the file; its answer is not what PTB reads
            log.warning("botapi_answer_unreadable error=%r", exc)
            raise UnconfirmedDeliveryError(ROUTE, f"answer unreadable: {exc!r}") from exc
        if message is None or message.document is None:
            log.warning("botapi_answer_unreadable error='answer had no file'")
            raise UnconfirmedDeliveryError(ROUTE, "answer had no file")
        log.info("botapi_uploaded method=sendDocument size=%d kind=document streamed=1", body.size)
        return Uploaded(message.message_id, message.document.file_id, MediaKind.DOCUMENT, ROUTE)


def _param(name: str, value: str) -> str:
    return f'{name}="{_QUOTED_RE.sub(lambda m: _QUOTED[m.group(0)], value)}"'
