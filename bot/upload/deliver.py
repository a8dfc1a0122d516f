"""Picks the route for a file: the Bot API up to its limit, the MTProto client above it."""

from __future__ import annotations

import logging

from bot.config.limits import upload_capacity
from bot.model.failures import DeliveryError, FailureReason
from bot.model.media import MediaKind
from bot.upload.album import Resent
from bot.upload.botapi import BotApiUploader
from bot.upload.mtproto import MtprotoUploader
from bot.upload.types import Delivery, ProgressFn, Uploaded

log = logging.getLogger(__name__)


class RouteDeliverer:
    """Sends finished files into chats by whichever route can carry them."""

    def __init__(
        self, botapi: BotApiUploader, mtproto: MtprotoUploader | None, bot_api_limit: int
    ) -> None:
        self._botapi = botapi
        self._mtproto = mtproto
        self._limit = bot_api_limit

    @property
    def capacity(self) -> int:
        """The largest file some configured route can carry (Telegram's 2000 MB via MTProto)."""
        return upload_capacity(self._limit, self._mtproto is not None)

    async def deliver(self, delivery: Delivery, progress: ProgressFn) -> Uploaded:
        """Send the file; too large for every configured route raises TOO_LARGE_FOR_TELEGRAM."""
        if delivery.size <= self._limit:
            try:
                return await self._botapi.send(delivery, progress)
            except DeliveryError as exc:
                if exc.reason is not FailureReason.TOO_LARGE_FOR_TELEGRAM or not self._mtproto:
                    raise
                log.warning("deliver_fallback route=mtproto reason=bot_api_413")
                return await self._mtproto.send(delivery, progress)
        if self._mtproto is None:
            raise DeliveryError(
                FailureReason.TOO_LARGE_FOR_TELEGRAM,
                "MTProto uploads are not configured (API_ID, API_HASH)",
                size=delivery.size,
                limit=self._limit,
            )
        return await self._mtproto.send(delivery, progress)

    @property
    def album_limit(self) -> int:
        """The largest file an album may carry (albums go through the Bot API only)."""
        return self._limit

    async def send_album(self, deliveries: list[Delivery], progress: ProgressFn) -> list[Uploaded]:
        """Send 2 to 10 files, each within `album_limit`, as one album."""
        return await self._botapi.send_album(deliveries, progress)

    async def resend_album(
        self,
        chat_id: int,
        items: list[Resent],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[Uploaded]:
        return await self._botapi.resend_album(
            chat_id, items, reply_to=reply_to, thread_id=thread_id
        )

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
        """Send a file Telegram already has; raises StaleFileIdError when the id is gone."""
        return await self._botapi.resend(
            chat_id, kind, file_id, caption, reply_to=reply_to, thread_id=thread_id
        )
