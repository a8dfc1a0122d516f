"""The fake Bot API's method implementations, over its chats, files, commands and updates."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.fakes.chats import ChatStore
from tests.fakes.commands import CommandStore
from tests.fakes.errors import ApiError
from tests.fakes.files import FileStore
from tests.fakes.form import hash_local_file, local_path
from tests.fakes.playable import check_video
from tests.fakes.pushes import Pushes
from tests.fakes.records import UPLOAD_METHODS, UploadedFile
from tests.fakes.updates import UpdateQueue
from tests.fakes.waiters import Waiters

WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
Handler = Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]


class BotMethods:
    """What each Bot API method does; the server in bot_api.py adds HTTP, faults and records."""

    def __init__(
        self,
        bot_user: dict[str, Any],
        waiters: Waiters,
        *,
        local_mode: bool,
        upload_limit: int,
        check_videos: bool = False,
    ) -> None:
        self.bot_user = bot_user
        self.check_videos = check_videos
        self.local_mode = local_mode
        self.upload_limit = upload_limit
        self.chats = ChatStore(bot_user)
        self.files = FileStore(local_mode=local_mode)
        self.commands = CommandStore()
        self.updates = UpdateQueue()
        self.pushes = Pushes(self.chats, self._push)
        self.stalled = False
        self.closing = False
        self.polling = 0
        self.poll_generation = 0
        self._waiters = waiters

    def _push(self, raw: dict[str, Any]) -> int:
        update_id = self.updates.push(raw)
        self._waiters.notify()
        return update_id

    def table(self) -> dict[str, Handler]:
        """Every implemented method by its canonical name."""

        def sync(func: Callable[[dict[str, Any]], Any]) -> Handler:
            async def handler(params: dict[str, Any], _: dict[str, UploadedFile]) -> Any:
                return func(params)

            return handler

        def true(_: dict[str, Any]) -> bool:
            return True

        table: dict[str, Handler] = {
            "getMe": sync(lambda _: self.get_me()),
            "getWebhookInfo": sync(lambda _: self._webhook_info()),
            "deleteWebhook": sync(self._delete_webhook),
            "logOut": sync(true),
            "close": sync(true),
            "setMyDescription": sync(true),
            "setMyShortDescription": sync(true),
            "setMyCommands": sync(self.commands.set),
            "getMyCommands": sync(self.commands.get),
            "deleteMyCommands": sync(self.commands.delete),
            "getUpdates": self._get_updates,
            "sendMessage": sync(self.chats.send_message),
            "editMessageText": sync(self.chats.edit_text),
            "editMessageCaption": sync(self.chats.edit_caption),
            "editMessageReplyMarkup": sync(self.chats.edit_markup),
            "deleteMessage": sync(self.chats.delete),
            "sendChatAction": sync(self._chat_action),
            "answerCallbackQuery": sync(self.pushes.answer_callback),
            "answerInlineQuery": sync(self.pushes.answer_inline),
            "getChat": sync(self.chats.get_chat),
            "getChatMember": sync(self.chats.get_member),
            "getFile": sync(lambda p: self.files.get_file(p.get("file_id"))),
        }
        for method in UPLOAD_METHODS:
            table[method] = self._upload_handler(method)
        table["sendMediaGroup"] = self._media_group
        return table

    # --- methods ---------------------------------------------------------------------------

    def get_me(self) -> dict[str, Any]:
        """The bot's User object, as getMe answers it."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _webhook_info(self) -> dict[str, Any]:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates") is True:
            self.updates.clear()
        return True

    def _chat_action(self, params: dict[str, Any]) -> bool:
        self.chats.check_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _get_updates(self, params: dict[str, Any], _: dict[str, UploadedFile]) -> Any:
        await self._waiters.wait(lambda: True if not self.stalled or self.closing else None, None)
        self.updates.confirm(params.get("offset"))
        limit = params.get("limit", 100)
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = max(float(timeout), 0.0) if isinstance(timeout, int | float) else 0.0
        allowed = params.get("allowed_updates")

        self.poll_generation += 1
        generation = self.poll_generation

        def check() -> list[dict[str, Any]] | None:
            if generation != self.poll_generation:
                # Telegram ends the older of two concurrent long-polls this way.
                raise ApiError(409)
            taken = self.updates.take(limit, allowed)
            return [] if taken is None and self.closing else taken

        self.polling += 1
        self._waiters.notify()
        try:
            return await self._waiters.wait(check, timeout) or []
        finally:
            self.polling -= 1

    def _upload_handler(self, method: str) -> Handler:
        kind = UPLOAD_METHODS[method]

        async def handler(params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
            self.chats.check_chat(params)
            upload = await self._local_upload(kind, params, files)
            thumbnail = await self._local_upload("thumbnail", params, files)
            reference = params.get(kind)
            if upload is not None and kind == "video" and self.check_videos:
                await check_video(upload, params.get("duration"))
            if upload is not None:
                record = self.files.register(kind, upload, params, thumbnail)
            elif isinstance(reference, str) and reference:
                found = self.files.get(reference)
                if found is None:
                    raise ApiError(400, WRONG_FILE)
                record = found
            else:
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            return self.chats.send_file(
                kind, params, record, FileStore.message_fields(kind, record)
            )

        return handler

    async def _media_group(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> list[dict[str, Any]]:
        """sendMediaGroup: 2 to 10 files, each `attach://name` (a part of this request) or a
        file_id; audio only with audio, documents only with documents. One message each."""
        self.chats.check_chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album")
        kinds = {item.get("type") for item in media if isinstance(item, dict)}
        if len(kinds) > 1 and kinds & {"audio", "document"}:
            raise ApiError(400, "Bad Request: audio and documents can't be mixed with others")
        found = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in {"video", "audio", "document", "photo"}:
                raise ApiError(400, "Bad Request: wrong type of the media in the album")
            reference = item.get("media")
            thumbnail = _attached(item.get("thumbnail"), files)
            upload = _attached(reference, files)
            fields = {**params, **{k: v for k, v in item.items() if k not in {"type", "media"}}}
            if upload is not None:
                if kind == "video" and self.check_videos:
                    await check_video(upload, item.get("duration"))
                record = self.files.register(kind, upload, fields, thumbnail)
            else:
                existing = self.files.get(reference) if isinstance(reference, str) else None
                if existing is None:
                    raise ApiError(400, WRONG_FILE)
                record = existing
            found.append((kind, fields, record))
        return [
            self.chats.send_file(kind, fields, record, FileStore.message_fields(kind, record))
            for kind, fields, record in found
        ]

    async def _local_upload(
        self, field: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> UploadedFile | None:
        """The uploaded part for `field`, or in local mode the file its path names."""
        if field in files:
            return files[field]
        value = params.get(field)
        path = local_path(value) if self.local_mode and isinstance(value, str) else None
        if path is None:
            return None
        upload = await asyncio.to_thread(hash_local_file, field, path, self.upload_limit)
        if upload is None:
            raise ApiError(400, WRONG_FILE)
        files[field] = upload
        return upload


def _attached(reference: object, files: dict[str, UploadedFile]) -> UploadedFile | None:
    """The part of this request an `attach://name` reference names."""
    if isinstance(reference, str) and reference.startswith("attach://"):
        return files.get(reference.removeprefix("attach://"))
    return None
