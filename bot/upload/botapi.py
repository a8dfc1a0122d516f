"""Bot API uploads through PTB's own send methods, the file streamed from disk.

PTB streams a file handle given as `InputFile(handle, read_file_handle=False)`: four 45 MB
uploads at once cost about 2 MB (bench/upload_memory.py, docs/BENCHMARKS.md), where its default
reads each file whole. Each send opens the file afresh; a retry of that send (the request
layer's, telegram_io/request.py) streams the body again from its start (httpx rewinds it). A
send whose answer was lost, or came in a shape PTB cannot read (telegram_io/answers.py), is not
repeated: it raises UnconfirmedDeliveryError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.config.settings import BOT_API_UPLOAD_LIMIT, LOCAL_BOT_API_UPLOAD_LIMIT
from bot.model.failures import (
    DeliveryError,
    FailureReason,
    StaleFileIdError,
    UnconfirmedDeliveryError,
)
from bot.model.media import MediaInfo, MediaKind
from bot.telegram_io import answers
from bot.telegram_io.failures import AnswerLostError, TooLargeError
from bot.telegram_io.timeouts import DEFAULT_ANSWER_TIMEOUT_S, upload_read_timeout
from bot.upload.album import Resent, input_media, resent_media
from bot.upload.progress_file import ProgressFile, offset
from bot.upload.types import Delivery, ProgressFn, Uploaded

log = logging.getLogger(__name__)

ROUTE = "botapi"
# Connect and pool waits are short; the read (the answer) grows with the file: see timeouts.py.
CONNECT_TIMEOUT_S, WRITE_TIMEOUT_S, POOL_TIMEOUT_S = 15.0, 60.0, 60.0

_METHODS = {
    MediaKind.DOCUMENT: "sendDocument",
    MediaKind.VIDEO: "sendVideo",
    MediaKind.AUDIO: "sendAudio",
    MediaKind.ANIMATION: "sendAnimation",
}
_STALE_MARKERS = (
    "wrong file identifier",
    "file reference",
    "file_id_invalid",
    "wrong remote file",
    "can't use file of type",
)
_CHAT_GONE_MARKERS = ("chat not found", "user not found", "peer_id_invalid")
# 400s about the message rather than the media: sending it as a document would fail the same way.
_NOT_MEDIA_MARKERS = (*_CHAT_GONE_MARKERS, "caption", "entities", "parse", "replied")


class BotApiUploader:
    """Sends files through the Bot API with PTB's Bot (whose request class retries what is safe
    to retry). With `local_mode` (a local telegram-bot-api server) only the file's path is sent
    and the server reads the file itself."""

    def __init__(
        self,
        bot: Bot,
        *,
        local_mode: bool = False,
        answer_timeout: float = DEFAULT_ANSWER_TIMEOUT_S,
    ) -> None:
        self._bot = bot
        self._local_mode = local_mode
        self._answer_timeout = answer_timeout
        self._limit = LOCAL_BOT_API_UPLOAD_LIMIT if local_mode else BOT_API_UPLOAD_LIMIT

    async def send(self, delivery: Delivery, progress: ProgressFn) -> Uploaded:
        """Upload the file as its kind; a kind Telegram refuses for it goes as a document. In a
        forum topic a reply to a message that is gone is refused (allow_sending_without_reply
        does not hold there): the file goes into the topic without the reply."""
        try:
            return await self._send(delivery, progress)
        except DeliveryError as exc:
            if delivery.reply_to is None or not _reply_gone(exc):
                raise
            log.info("botapi_reply_dropped method=send")
            return await self._send(dataclasses.replace(delivery, reply_to=None), progress)

    async def _send(self, delivery: Delivery, progress: ProgressFn) -> Uploaded:
        kind = delivery.info.kind
        try:
            async with self._refusals(delivery.size, fallback=kind is not MediaKind.DOCUMENT):
                message = await self._upload(delivery, kind, progress)
        except _MediaRefused as refused:
            log.warning(
                "botapi_kind_fallback method=%s description=%r", _METHODS[kind], refused.message
            )
            kind = MediaKind.DOCUMENT
            async with self._refusals(delivery.size, fallback=False):
                message = await self._upload(delivery, kind, progress)
        delivered = _delivered(message, kind)
        log.info("botapi_uploaded method=%s size=%d kind=%s", _METHODS[kind], delivery.size, kind)
        return delivered

    async def resend(
        self,
        chat_id: int,
        kind: MediaKind,
        file_id: str,
        caption: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Uploaded:
        """Send a file Telegram already has by its file_id; a stale id raises StaleFileIdError."""
        sent = _Sent(chat_id, caption, MediaInfo(kind), 0, reply_to, thread_id)
        try:
            async with self._refusals(None, fallback=False):
                message = await self._call(kind, sent, file_id)
        except DeliveryError as exc:
            description = exc.detail.lower()
            if exc.params.get("status") == 400 and any(m in description for m in _STALE_MARKERS):
                log.info("botapi_stale_file_id method=%s", _METHODS[kind])
                raise StaleFileIdError(exc.detail) from exc
            if reply_to is not None and _reply_gone(exc):
                log.info("botapi_reply_dropped method=resend")
                return await self.resend(chat_id, kind, file_id, caption, thread_id=thread_id)
            raise
        return _delivered(message, kind)

    async def send_album(self, deliveries: list[Delivery], progress: ProgressFn) -> list[Uploaded]:
        """Upload 2 to 10 files as one album, each with its caption; the progress is of all."""
        try:
            return await self._send_album(deliveries, progress)
        except DeliveryError as exc:
            if deliveries[0].reply_to is None or not _reply_gone(exc):
                raise
            log.info("botapi_reply_dropped method=album")
            unanswered = [dataclasses.replace(d, reply_to=None) for d in deliveries]
            return await self._send_album(unanswered, progress)

    async def _send_album(
        self, deliveries: list[Delivery], progress: ProgressFn
    ) -> list[Uploaded]:
        first = deliveries[0]
        total = sum(d.size for d in deliveries)

        def opener(path: Path, size: int, progress: ProgressFn) -> ProgressFile:
            return ProgressFile(str(path.resolve()), size, progress, fence=first.fence)

        with contextlib.ExitStack() as stack:
            media = []
            base = 0
            for delivery in deliveries:
                media.append(
                    input_media(
                        stack,
                        delivery,
                        opener,
                        offset(progress, base, total),
                        local_mode=self._local_mode,
                    )
                )
                base += delivery.size
            if self._local_mode and first.fence is not None:  # the server reads the files
                await first.fence()
            where = (first.reply_to, first.thread_id)
            async with self._refusals(total, fallback=False):
                messages = await self._album(first.chat_id, media, where, total)
        sent = [_delivered(m, d.info.kind) for m, d in zip(messages, deliveries, strict=False)]
        if len(sent) != len(deliveries):  # taken all the same: most likely in the chat
            raise UnconfirmedDeliveryError(ROUTE, "album answer is short")
        log.info("botapi_album size=%d files=%d", total, len(sent))
        return sent

    async def resend_album(
        self,
        chat_id: int,
        items: list[Resent],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[Uploaded]:
        """Send files Telegram already has as one album; a stale id raises StaleFileIdError."""
        media = [resent_media(item) for item in items]
        try:
            async with self._refusals(None, fallback=False):
                messages = await self._album(chat_id, media, (reply_to, thread_id), 0)
        except DeliveryError as exc:
            description = exc.detail.lower()
            if exc.params.get("status") == 400 and any(m in description for m in _STALE_MARKERS):
                raise StaleFileIdError(exc.detail) from exc
            if reply_to is not None and _reply_gone(exc):
                log.info("botapi_reply_dropped method=resend_album")
                return await self.resend_album(chat_id, items, thread_id=thread_id)
            raise
        return [_delivered(m, i.kind) for m, i in zip(messages, items, strict=False)]

    async def _album(
        self, chat_id: int, media: list[Any], where: tuple[int | None, int | None], size: int
    ) -> tuple[Message, ...]:
        reply_to, thread_id = where
        return await self._bot.send_media_group(
            chat_id,
            media,
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None,
            message_thread_id=thread_id,
            read_timeout=upload_read_timeout(size, self._answer_timeout),
            write_timeout=WRITE_TIMEOUT_S,
            connect_timeout=CONNECT_TIMEOUT_S,
            pool_timeout=POOL_TIMEOUT_S,
        )

    async def _upload(self, delivery: Delivery, kind: MediaKind, progress: ProgressFn) -> Message:
        info = delivery.info
        path = delivery.path.resolve()
        thumb = info.thumbnail if kind is not MediaKind.DOCUMENT else None
        with contextlib.ExitStack() as stack:
            media: Any
            if self._local_mode:
                if delivery.fence is not None:  # the request is the path alone: fenced whole
                    await delivery.fence()
                media = path  # PTB sends its file:// URI; the server reads it and answers when
                progress(delivery.size, delivery.size)  # it has stored it: handed over now
            else:
                # A fresh handle for this send; PTB streams it, never reading it whole.
                body = stack.enter_context(
                    ProgressFile(str(path), delivery.size, progress, fence=delivery.fence)
                )
                media = InputFile(body, filename=delivery.filename, read_file_handle=False)
            image = None
            if thumb is not None and thumb.is_file():
                handle = stack.enter_context(Path(thumb).open("rb"))  # noqa: ASYNC230 - opened, read by httpx
                image = InputFile(
                    handle, filename="thumb.jpg", attach=True, read_file_handle=False
                )
            sent = _Sent(
                delivery.chat_id,
                delivery.caption,
                info,
                delivery.size,
                delivery.reply_to,
                delivery.thread_id,
            )
            return await self._call(kind, sent, media, image)

    async def _call(
        self, kind: MediaKind, sent: _Sent, media: Any, thumbnail: InputFile | None = None
    ) -> Message:
        bot, chat_id, info = self._bot, sent.chat_id, sent.info
        common: dict[str, Any] = {
            "caption": sent.caption,
            "parse_mode": ParseMode.HTML,
            # A reply to the user's link, so each file says which link it answers; sent all
            # the same if that message is gone.
            "reply_parameters": ReplyParameters(sent.reply_to, allow_sending_without_reply=True)
            if sent.reply_to is not None
            else None,
            "message_thread_id": sent.thread_id,  # a forum topic: the link's own
            "read_timeout": upload_read_timeout(sent.size, self._answer_timeout),
            "write_timeout": WRITE_TIMEOUT_S,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "pool_timeout": POOL_TIMEOUT_S,
        }
        if kind is MediaKind.VIDEO:
            return await bot.send_video(
                chat_id,
                media,
                duration=info.duration,
                width=info.width,
                height=info.height,
                # Only for an MP4 with its index first: Telegram would let a player start
                # a file it cannot play before it has the whole of it.
                supports_streaming=info.streaming or None,
                thumbnail=thumbnail,
                **common,
            )
        if kind is MediaKind.AUDIO:
            return await bot.send_audio(
                chat_id,
                media,
                duration=info.duration,
                title=info.title,
                performer=info.performer,
                thumbnail=thumbnail,
                **common,
            )
        if kind is MediaKind.ANIMATION:
            return await bot.send_animation(
                chat_id,
                media,
                duration=info.duration,
                width=info.width,
                height=info.height,
                thumbnail=thumbnail,
                **common,
            )
        return await bot.send_document(chat_id, media, **common)

    @contextlib.asynccontextmanager
    async def _refusals(self, size: int | None, *, fallback: bool) -> AsyncIterator[None]:
        """Telegram's answers as the job's typed failures. `fallback`: a 400 about the media
        (not the chat or the caption) raises _MediaRefused, so it can go as a document. A
        success PTB could not read (answers.py) is UnconfirmedDeliveryError, never a failure."""
        with answers.watch() as answered:
            try:
                async with self._telegram_refusals(size, fallback=fallback):
                    yield
            except (TelegramError, DeliveryError, UnconfirmedDeliveryError, _MediaRefused):
                raise
            except Exception as exc:
                if not answered.ok:
                    raise
                log.warning("botapi_answer_unreadable error=%r", exc)
                raise UnconfirmedDeliveryError(ROUTE, f"answer unreadable: {exc!r}") from exc

    @contextlib.asynccontextmanager
    async def _telegram_refusals(self, size: int | None, *, fallback: bool) -> AsyncIterator[None]:
        try:
            yield
        except AnswerLostError as exc:
            raise UnconfirmedDeliveryError(ROUTE, str(exc)) from exc
        except TooLargeError as exc:
            log.warning("botapi_failed status=413 description=%r", exc.message)
            raise DeliveryError(
                FailureReason.TOO_LARGE_FOR_TELEGRAM, exc.message, size=size, limit=self._limit
            ) from exc
        except Forbidden as exc:
            log.warning("botapi_failed status=403 description=%r", exc.message)
            raise DeliveryError(FailureReason.CHAT_UNAVAILABLE, exc.message) from exc
        except BadRequest as exc:
            description = exc.message.lower()
            if any(marker in description for marker in _CHAT_GONE_MARKERS):
                log.warning("botapi_failed status=400 description=%r", exc.message)
                raise DeliveryError(FailureReason.CHAT_UNAVAILABLE, exc.message) from exc
            if fallback and not any(marker in description for marker in _NOT_MEDIA_MARKERS):
                raise _MediaRefused(exc.message) from exc
            log.warning("botapi_failed status=400 description=%r", exc.message)
            raise DeliveryError(FailureReason.UPLOAD_FAILED, exc.message, status=400) from exc
        except TelegramError as exc:  # retries spent: the network, 5xx, a long flood wait
            log.warning("botapi_gave_up error=%s", exc.message)
            # No answer at all: say so rather than show httpx's words to the user.
            unanswered = isinstance(exc.__cause__, httpx.HTTPError)
            detail = "network error" if unanswered else exc.message
            raise DeliveryError(FailureReason.UPLOAD_FAILED, detail) from exc


@dataclass(frozen=True, slots=True)
class _Sent:
    """What a send says besides its file: where, the caption, the media's details, its size
    (for the answer's timeout), the message it replies to."""

    chat_id: int
    caption: str
    info: MediaInfo
    size: int
    reply_to: int | None
    thread_id: int | None = None


def _reply_gone(exc: DeliveryError) -> bool:
    """Telegram refused the reply: the message it answers is gone (in a forum topic)."""
    return exc.params.get("status") == 400 and "replied not found" in exc.detail.lower()


class _MediaRefused(Exception):
    """A 400 about the file as this kind of media: it may go as a document instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _delivered(message: Message, wanted: MediaKind) -> Uploaded:
    files = {
        MediaKind.ANIMATION: message.animation,  # an animation's Message has a document too
        MediaKind.VIDEO: message.video,
        MediaKind.AUDIO: message.audio,
        MediaKind.DOCUMENT: message.document,
    }
    for kind in (wanted, *(k for k in files if k is not wanted)):
        sent = files[kind]
        if sent is not None:
            return Uploaded(message.message_id, sent.file_id, kind, ROUTE)
    # Telegram took the file (it answered with success): most likely in the chat.
    log.warning("botapi_answer_unreadable error='answer had no file'")
    raise UnconfirmedDeliveryError(ROUTE, "answer had no file")
