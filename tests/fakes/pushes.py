"""Builds the updates a test injects: a user's text message, a button press, any raw update."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.chats import ChatStore
from tests.fakes.errors import ApiError
from tests.fakes.tg_text import incoming_entities

QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class Pushes:
    """Turns test intents into Telegram updates, keeping the chats' message ids consistent."""

    def __init__(self, chats: ChatStore, push: Callable[[dict[str, Any]], int]) -> None:
        self._chats = chats
        self._push = push
        self._callback_ids: set[str] = set()
        self.message_ids: dict[int, int] = {}  # a pushed message's update_id -> its message_id

    def message(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str,
        first_name: str,
        username: str | None,
        chat_id: int | None,
        document: dict[str, Any] | None = None,
    ) -> int:
        """Queue a user's text message (or, with `document`, a file with `text` as caption)."""
        user = _user(user_id, first_name, username, language_code)
        if chat_id is None or chat_id == user_id:
            chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
            if username:
                chat["username"] = username
            self._chats.remember_chat(chat)
        else:
            chat = self._chats.chat_json(chat_id)
        message: dict[str, Any] = {
            "message_id": self._chats.next_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        if document is not None:
            message["document"] = document
            if text:
                message["caption"] = text
        else:
            message["text"] = text
            if entities := incoming_entities(text):
                message["entities"] = entities
        update_id = self.raw({"message": message})
        self.message_ids[update_id] = message["message_id"]
        return update_id

    def callback(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        language_code: str,
        chat_id: int | None,
    ) -> int:
        """Queue a press of an inline button on one of the bot's messages."""
        chat_id = user_id if chat_id is None else chat_id
        message = self._chats.message_json(chat_id, message_id)
        chat = self._chats.chat_json(user_id)
        first_name = chat.get("first_name", "User")
        query_id = str(secrets.randbits(62))
        self._callback_ids.add(query_id)
        return self.raw(
            {
                "callback_query": {
                    "id": query_id,
                    "from": _user(user_id, first_name, chat.get("username"), language_code),
                    "message": message,
                    "chat_instance": str(-(abs(hash((self._chats.bot_user["id"], chat_id))))),
                    "data": data,
                }
            }
        )

    def raw(self, update: dict[str, Any]) -> int:
        """Queue any update; messages in it become known for replies and deletions."""
        message = update.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat = message["chat"]
            self._chats.remember_chat(chat)
            if isinstance(message.get("message_id"), int) and isinstance(chat.get("id"), int):
                self._chats.add_user_message(chat["id"], message["message_id"])
        return self._push(update)

    def answer_callback(self, params: dict[str, Any]) -> bool:
        """answerCallbackQuery: only ids of pushed callback queries are valid."""
        if str(params.get("callback_query_id")) not in self._callback_ids:
            raise ApiError(400, QUERY_INVALID)
        return True


def _user(
    user_id: int, first_name: str, username: str | None, language_code: str
) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    user["language_code"] = language_code
    return user
