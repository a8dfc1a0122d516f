"""Bot API uploads streamed from disk, so memory does not grow with the file's size."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.config.settings import BOT_API_UPLOAD_LIMIT, LOCAL_BOT_API_UPLOAD_LIMIT
from bot.model.failures import (
    DeliveryError,
    FailureReason,
    StaleFileIdError,
    UnconfirmedDeliveryError,
)
from bot.model.media import MediaKind
from bot.telegram_io.failures import AnswerLostError, sent_of_error
from bot.telegram_io.retry import RetryPolicy, TransientError, with_retries
from bot.telegram_io.timeouts import DEFAULT_ANSWER_TIMEOUT_S, upload_read_timeout
from bot.upload.types import Delivered, Delivery, ProgressFn

log = logging.getLogger(__name__)

ROUTE = "botapi"
PROGRESS_INTERVAL = 0.25  # seconds between progress reports while a file streams out
# Connect and pool waits are short; the read (the answer) grows with the file: see timeouts.py.
CONNECT_TIMEOUT_S, WRITE_TIMEOUT_S, POOL_TIMEOUT_S = 15.0, 60.0, 60.0

_METHODS = {
    MediaKind.DOCUMENT: "sendDocument",
    MediaKind.VIDEO: "sendVideo",
    MediaKind.AUDIO: "sendAudio",
    MediaKind.ANIMATION: "sendAnimation",
}
# Where the answer's Message keeps the file; an animation also carries a `document`.
_ANSWER_KEYS = (MediaKind.ANIMATION, MediaKind.VIDEO, MediaKind.AUDIO, MediaKind.DOCUMENT)
_STALE_MARKERS = (
    "wrong file identifier",
    "file reference",
    "file_id_invalid",
    "wrong remote file",
    "can't use file of type",
)
_CHAT_GONE_MARKERS = ("chat not found", "user not found", "peer_id_invalid")
# 400s about the message rather than the media: sending it as a document would fail the same way.
_NOT_MEDIA_MARKERS = (*_CHAT_GONE_MARKERS, "caption", "entities", "parse")


class ProgressFile(io.FileIO):
    """A file opened for reading whose reads report progress, at most every `interval`."""

    def __init__(
        self, path: str, total: int, progress: ProgressFn, interval: float = PROGRESS_INTERVAL
    ) -> None:
        super().__init__(path, "rb")
        self._total = total
        self._progress = progress
        self._interval = interval
        self._last = 0.0

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size) or b""
        position = self.tell()
        now = time.monotonic()
        if position >= self._total or not chunk or now - self._last >= self._interval:
            self._last = now
            self._progress(min(position, self._total), self._total)
        return chunk


def _answer(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _description(status: int, answer: dict[str, Any]) -> str:
    description = answer.get("description")
    return description if isinstance(description, str) else f"HTTP {status}"


def _delivered(answer: dict[str, Any], wanted: MediaKind) -> Delivered:
    result = answer.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise DeliveryError(FailureReason.UPLOAD_FAILED, "answer had no message")
    keys = (wanted, *(k for k in _ANSWER_KEYS if k is not wanted))
    for kind in keys:
        media = result.get(kind.value)
        if isinstance(media, dict) and isinstance(media.get("file_id"), str):
            return Delivered(result["message_id"], media["file_id"], kind, ROUTE)
    raise DeliveryError(FailureReason.UPLOAD_FAILED, "answer had no file")


class BotApiUploader:
    """Sends files through the Bot API, streaming multipart bodies straight from disk.

    With `local_mode` (a local telegram-bot-api server) only the file's path is sent and the
    server reads the file itself. A send whose answer was lost is not repeated: it raises
    UnconfirmedDeliveryError (see telegram_io/failures.py).
    """

    def __init__(
        self,
        api_root: str,
        token: str,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        local_mode: bool = False,
        answer_timeout: float = DEFAULT_ANSWER_TIMEOUT_S,
    ) -> None:
        self._base = f"{api_root.rstrip('/')}/bot{token}"
        self._token = token
        self._client = client
        self._policy = policy
        self._local_mode = local_mode
        self._answer_timeout = answer_timeout
        self._limit = LOCAL_BOT_API_UPLOAD_LIMIT if local_mode else BOT_API_UPLOAD_LIMIT

    async def send(self, delivery: Delivery, progress: ProgressFn) -> Delivered:
        """Upload the file as its kind; a kind Telegram refuses for it goes as a document."""
        kind = delivery.info.kind
        status, answer = await self._upload(delivery, kind, progress)
        if status == 400 and kind is not MediaKind.DOCUMENT and not _about_message(answer):
            log.warning(
                "botapi_kind_fallback method=%s description=%r",
                _METHODS[kind],
                _description(status, answer),
            )
            kind = MediaKind.DOCUMENT
            status, answer = await self._upload(delivery, kind, progress)
        if answer.get("ok") is True:
            delivered = _delivered(answer, kind)
            log.info(
                "botapi_uploaded method=%s size=%d kind=%s", _METHODS[kind], delivery.size, kind
            )
            return delivered
        raise self._failure(status, answer, delivery.size)

    async def resend(self, chat_id: int, kind: MediaKind, file_id: str, caption: str) -> Delivered:
        """Send a file Telegram already has by its file_id; a stale id raises StaleFileIdError."""
        method = _METHODS[kind]
        payload = {
            "chat_id": chat_id,
            kind.value: file_id,
            "caption": caption,
            "parse_mode": "HTML",
        }

        waits = self._waits(0)  # Telegram has the file: nothing to store

        async def once() -> tuple[int, bytes]:
            return await self._post(method, waits, json=payload)

        status, body = await self._retrying(once, method)
        answer = _answer(body)
        if answer.get("ok") is True:
            return _delivered(answer, kind)
        description = _description(status, answer).lower()
        if status == 400 and any(marker in description for marker in _STALE_MARKERS):
            log.info("botapi_stale_file_id method=%s", method)
            raise StaleFileIdError(_description(status, answer))
        raise self._failure(status, answer, None)

    async def _upload(
        self, delivery: Delivery, kind: MediaKind, progress: ProgressFn
    ) -> tuple[int, dict[str, Any]]:
        method = _METHODS[kind]
        data = self._params(delivery, kind)
        path = str(delivery.path.resolve())
        thumb = delivery.info.thumbnail if kind is not MediaKind.DOCUMENT else None
        if self._local_mode:
            data[kind.value] = f"file://{path}"
        # Local mode too: the server answers once it has read and stored the whole file.
        waits = self._waits(delivery.size)

        async def once() -> tuple[int, bytes]:
            if self._local_mode:  # the server reads the file itself: it is handed over now
                progress(delivery.size, delivery.size)
            # A fresh file object per attempt: each retry streams the body from the start.
            with contextlib.ExitStack() as stack:
                files: dict[str, tuple[str, io.FileIO, str | None]] = {}
                if not self._local_mode:
                    body = stack.enter_context(ProgressFile(path, delivery.size, progress))
                    files[kind.value] = (delivery.filename, body, None)  # httpx guesses the type
                if thumb is not None and thumb.is_file():
                    image = stack.enter_context(io.FileIO(thumb, "rb"))
                    files["thumbnail"] = ("thumb.jpg", image, "image/jpeg")
                return await self._post(method, waits, data=data, files=files or None)

        status, body = await self._retrying(once, method)
        return status, _answer(body)

    def _params(self, delivery: Delivery, kind: MediaKind) -> dict[str, str]:
        info = delivery.info
        data = {
            "chat_id": str(delivery.chat_id),
            "caption": delivery.caption,
            "parse_mode": "HTML",
        }
        extra: dict[str, object | None] = {}
        if kind is MediaKind.VIDEO:
            extra = {"duration": info.duration, "width": info.width, "height": info.height}
            extra["supports_streaming"] = "true"
        elif kind is MediaKind.AUDIO:
            extra = {"duration": info.duration, "title": info.title, "performer": info.performer}
        elif kind is MediaKind.ANIMATION:
            extra = {"duration": info.duration, "width": info.width, "height": info.height}
        data.update({name: str(value) for name, value in extra.items() if value is not None})
        return data

    def _waits(self, size: int) -> httpx.Timeout:
        return httpx.Timeout(
            connect=CONNECT_TIMEOUT_S,
            read=upload_read_timeout(size, self._answer_timeout),
            write=WRITE_TIMEOUT_S,
            pool=POOL_TIMEOUT_S,
        )

    async def _post(self, method: str, waits: httpx.Timeout, **kwargs: Any) -> tuple[int, bytes]:
        try:
            response = await self._client.post(f"{self._base}/{method}", timeout=waits, **kwargs)
        except httpx.TransportError as exc:  # connect, read, write and protocol failures
            message = str(exc).replace(self._token, "<redacted>")
            raise TransientError(f"{type(exc).__name__}: {message}", sent_of_error(exc)) from exc
        return response.status_code, response.content

    async def _retrying(
        self, once: Callable[[], Awaitable[tuple[int, bytes]]], method: str
    ) -> tuple[int, bytes]:
        try:
            return await with_retries(once, self._policy, method)
        except AnswerLostError as exc:
            raise UnconfirmedDeliveryError(ROUTE, str(exc)) from exc
        except TransientError as exc:
            log.warning("botapi_gave_up method=%s error=%s", method, exc)
            raise DeliveryError(FailureReason.UPLOAD_FAILED, "network error") from exc

    def _failure(self, status: int, answer: dict[str, Any], size: int | None) -> DeliveryError:
        description = _description(status, answer)
        log.warning("botapi_failed status=%d description=%r", status, description)
        if status == 413:
            return DeliveryError(
                FailureReason.TOO_LARGE_FOR_TELEGRAM, description, size=size, limit=self._limit
            )
        if status == 403 or _chat_gone(answer):
            return DeliveryError(FailureReason.CHAT_UNAVAILABLE, description)
        return DeliveryError(FailureReason.UPLOAD_FAILED, description, status=status)


def _chat_gone(answer: dict[str, Any]) -> bool:
    description = str(answer.get("description", "")).lower()
    return any(marker in description for marker in _CHAT_GONE_MARKERS)


def _about_message(answer: dict[str, Any]) -> bool:
    description = str(answer.get("description", "")).lower()
    return any(marker in description for marker in _NOT_MEDIA_MARKERS)
