"""Uploads above the Bot API's limit through one long-lived MTProto (Pyrogram) client."""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.model.failures import DeliveryError, FailureReason
from bot.model.media import MediaKind
from bot.upload.types import Delivery, ProgressFn, Uploaded

if TYPE_CHECKING:
    from types import ModuleType

    from bot.upload.mtproto_client import MtprotoClient, SentMessage

log = logging.getLogger(__name__)

ROUTE = "mtproto"
# Pyrogram's RPC error ids that mean the bot cannot write to the chat any more.
_CHAT_GONE_IDS = frozenset(
    {
        "PEER_ID_INVALID",
        "CHAT_ID_INVALID",
        "CHANNEL_INVALID",
        "CHANNEL_PRIVATE",
        "INPUT_USER_DEACTIVATED",
        "USER_IS_BLOCKED",
        "CHAT_WRITE_FORBIDDEN",
    }
)


class MtprotoState(StrEnum):
    """What /health reports about the MTProto client."""

    IDLE = "idle"  # never started
    STARTING = "starting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


def _pyrogram_errors() -> ModuleType:
    # Imported on first use: pyrogram takes ~0.5 s to import and most runs never need it.
    return importlib.import_module("pyrogram.errors")


class MtprotoUploader:
    """Owns one MTProto client: started lazily, shared by every upload, stopped once by close()."""

    def __init__(
        self,
        factory: Callable[[], MtprotoClient],
        *,
        start_timeout: float = 30,
        stop_timeout: float = 10,
        flood_wait_limit: float = 600,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._factory = factory
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._flood_wait_limit = flood_wait_limit
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._client: MtprotoClient | None = None
        self._starting = False
        self._closed = False
        self._starts_done = 0  # finished start attempts, failed or not
        self._last_failure: DeliveryError | None = None

    @property
    def state(self) -> MtprotoState:
        """The client's state, for /health."""
        if self._closed:
            return MtprotoState.CLOSED
        if self._starting:
            return MtprotoState.STARTING
        if self._client is None:
            return MtprotoState.IDLE if self._starts_done == 0 else MtprotoState.DISCONNECTED
        return MtprotoState.CONNECTED if self._client.is_connected else MtprotoState.DISCONNECTED

    async def send(self, delivery: Delivery, progress: ProgressFn) -> Uploaded:
        """Upload the file; flood waits are waited out up to `flood_wait_limit` seconds in all."""
        errors = _pyrogram_errors()
        kind = delivery.info.kind
        reply_to = delivery.reply_to
        waited = 0.0
        while True:
            client = await self._connected()
            try:
                message = await _send(client, delivery, kind, progress, reply_to)
            except errors.FloodWait as exc:
                wait = max(1.0, float(exc.value or 0))  # never spin on a zero wait
                if waited + wait > self._flood_wait_limit:
                    raise DeliveryError(
                        FailureReason.UPLOAD_FAILED, f"flood wait {wait:.0f} s", retry_after=wait
                    ) from exc
                log.warning("mtproto_flood_wait seconds=%.0f", wait)
                waited += wait
                await self._sleep(wait)
                continue
            except errors.RPCError as exc:
                error_id = str(getattr(exc, "ID", None) or type(exc).__name__)
                if reply_to is not None and error_id.startswith("REPLY_"):
                    # The user's message is gone: the Bot API's allow_sending_without_reply.
                    log.info("mtproto_reply_dropped error=%s", error_id)
                    reply_to = None
                    continue
                if isinstance(exc, errors.Forbidden) or error_id in _CHAT_GONE_IDS:
                    raise DeliveryError(FailureReason.CHAT_UNAVAILABLE, error_id) from exc
                media_refused = isinstance(exc, errors.BadRequest) and "CAPTION" not in error_id
                if kind is not MediaKind.DOCUMENT and media_refused:
                    log.warning("mtproto_kind_fallback kind=%s error=%s", kind, error_id)
                    kind = MediaKind.DOCUMENT
                    continue
                raise DeliveryError(FailureReason.UPLOAD_FAILED, error_id) from exc
            except (OSError, ValueError) as exc:  # network trouble; pyrogram's size checks
                log.warning("mtproto_upload_failed error=%s", type(exc).__name__)
                # close() at shutdown stops the client under running uploads.
                reason = FailureReason.INTERRUPTED if self._closed else FailureReason.UPLOAD_FAILED
                raise DeliveryError(reason, type(exc).__name__) from exc
            delivered = _delivered(message, kind)
            log.info("mtproto_uploaded kind=%s size=%d", kind, delivery.size)
            return delivered

    async def close(self) -> None:
        """Stop the client (once, bounded by stop_timeout); later uploads raise."""
        if self._closed:
            return
        self._closed = True
        async with self._lock:  # lets a start in progress finish or fail first
            client, self._client = self._client, None
        if client is not None:
            await self._stop(client)
        log.info("mtproto_closed")

    async def _connected(self) -> MtprotoClient:
        seen = self._starts_done
        async with self._lock:
            if self._closed:
                raise DeliveryError(FailureReason.INTERRUPTED, "MTProto client is closed")
            client = self._client
            if client is not None and client.is_connected:
                return client
            if self._starts_done != seen and self._last_failure is not None:
                # Waited on someone else's start and it failed: share its outcome.
                raise DeliveryError(FailureReason.UPLOAD_FAILED, self._last_failure.detail)
            if client is not None:
                log.warning("mtproto_reconnect reason=disconnected")
                self._client = None
                await self._stop(client)
            return await self._start()

    async def _start(self) -> MtprotoClient:
        self._starting = True
        self._last_failure = None
        started = time.monotonic()
        client = self._factory()
        ok = False
        try:
            async with asyncio.timeout(self._start_timeout):
                await client.start()
            ok = True
        except TimeoutError as exc:
            log.warning("mtproto_start_timeout seconds=%.0f", self._start_timeout)
            self._last_failure = DeliveryError(
                FailureReason.UPLOAD_FAILED, "MTProto start timed out"
            )
            raise self._last_failure from exc
        except (OSError, _pyrogram_errors().RPCError) as exc:
            log.warning("mtproto_start_failed error=%s", type(exc).__name__)
            self._last_failure = DeliveryError(
                FailureReason.UPLOAD_FAILED, f"MTProto start failed: {type(exc).__name__}"
            )
            raise self._last_failure from exc
        finally:
            self._starting = False
            self._starts_done += 1
            if not ok:
                await self._stop(client)
        self._client = client
        log.info("mtproto_started ms=%d", (time.monotonic() - started) * 1000)
        return client

    async def _stop(self, client: MtprotoClient) -> None:
        try:
            async with asyncio.timeout(self._stop_timeout):
                await client.stop()
        except TimeoutError:
            log.warning("mtproto_stop_timeout seconds=%.0f", self._stop_timeout)
        except Exception:  # a failing stop must not hide why we are stopping
            log.exception("mtproto_stop_failed")


async def _send(
    client: MtprotoClient,
    delivery: Delivery,
    kind: MediaKind,
    progress: ProgressFn,
    reply_to: int | None,
) -> SentMessage | None:
    async def report(current: int, total: int) -> None:
        progress(current, total)
        if current >= total and delivery.fence is not None:  # every part is up: the message
            await delivery.fence()  # is made by the call after this, so it waits here

    info = delivery.info
    path = str(delivery.path.resolve())
    thumb = str(info.thumbnail) if info.thumbnail is not None else None
    common: dict[str, Any] = {
        "caption": delivery.caption,
        "file_name": delivery.filename,
        "reply_to_message_id": reply_to,
        "progress": report,
    }
    if delivery.thread_id is not None:  # a forum topic: the link's own
        common["message_thread_id"] = delivery.thread_id
    if kind is MediaKind.VIDEO:
        return await client.send_video(
            delivery.chat_id,
            path,
            duration=info.duration or 0,
            width=info.width or 0,
            height=info.height or 0,
            thumb=thumb,
            supports_streaming=info.streaming,
            **common,
        )
    if kind is MediaKind.AUDIO:
        return await client.send_audio(
            delivery.chat_id,
            path,
            duration=info.duration or 0,
            performer=info.performer,
            title=info.title,
            thumb=thumb,
            **common,
        )
    if kind is MediaKind.ANIMATION:
        return await client.send_animation(
            delivery.chat_id,
            path,
            duration=info.duration or 0,
            width=info.width or 0,
            height=info.height or 0,
            thumb=thumb,
            **common,
        )
    return await client.send_document(
        delivery.chat_id, path, thumb=thumb, force_document=True, **common
    )


def _delivered(message: SentMessage | None, kind: MediaKind) -> Uploaded:
    if message is None:
        raise DeliveryError(FailureReason.UPLOAD_FAILED, "upload was stopped")
    files = {
        MediaKind.DOCUMENT: message.document,
        MediaKind.VIDEO: message.video,
        MediaKind.AUDIO: message.audio,
        MediaKind.ANIMATION: message.animation,
    }
    for sent_kind in (kind, *files):
        sent = files[sent_kind]
        if sent is not None:
            return Uploaded(message.id, sent.file_id, sent_kind, ROUTE)
    raise DeliveryError(FailureReason.UPLOAD_FAILED, "answer had no file")
