"""Builds the updates a test injects: a user's text message (in a group, a forum topic, as a
reply), a button press, an inline query, the bot added to a group, any raw update; and checks
the answers to button presses and inline queries."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.chats import ChatStore, admin_rights
from tests.fakes.errors import ApiError
from tests.fakes.tg_text import incoming_entities

QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
INLINE_RESULTS = 50


class Pushes:
    """Turns test intents into Telegram updates, keeping the chats' message ids consistent."""

    def __init__(self, chats: ChatStore, push: Callable[[dict[str, Any]], int]) -> None:
        self._chats = chats
        self._push = push
        self._callback_ids: set[str] = set()
        self.message_ids: dict[int, int] = {}  # a pushed message's update_id -> its message_id
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}  # users' messages, by id
        self._inline_ids: set[str] = set()
        self.inline_answers: dict[str, dict[str, Any]] = {}  # query id -> answerInlineQuery

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
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Queue a user's text message (or, with `document`, a file with `text` as caption);
        in forum topic `thread_id`, as a reply to message `reply_to` of the same chat."""
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
        if reply_to is not None:
            replied = self._messages.get((chat["id"], reply_to))
            if replied is None:
                replied = self._chats.message_json(chat["id"], reply_to)
            message["reply_to_message"] = replied
            thread_id = thread_id or replied.get("message_thread_id")
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
            self._chats.note_thread(chat["id"], message["message_id"], thread_id)
        self._messages[(chat["id"], message["message_id"])] = dict(message)
        update_id = self.raw({"message": message})
        self.message_ids[update_id] = message["message_id"]
        return update_id

    def inline_query(self, user_id: int, query: str, *, language_code: str) -> str:
        """Queue an inline query (`@bot query` typed in some chat); returns its id."""
        query_id = str(secrets.randbits(62))
        self._inline_ids.add(query_id)
        user = _user(user_id, "User", None, language_code)
        update = {
            "id": query_id,
            "from": user,
            "query": query,
            "offset": "",
            "chat_type": "sender",
        }
        self.raw({"inline_query": update})
        return query_id

    def answer_inline(self, params: dict[str, Any]) -> bool:
        """answerInlineQuery: known ids, answered once, at most 50 results with unique ids, a
        button's start_parameter of 1-64 characters of [A-Za-z0-9_-]."""
        query_id = str(params.get("inline_query_id"))
        if query_id not in self._inline_ids or query_id in self.inline_answers:
            raise ApiError(400, QUERY_INVALID)
        results = params.get("results")
        if not isinstance(results, list) or len(results) > INLINE_RESULTS:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        if len({r.get("id") for r in results}) != len(results):
            raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
        button = params.get("button")
        parameter = button.get("start_parameter") if isinstance(button, dict) else None
        if parameter is not None and not START_PARAMETER.fullmatch(str(parameter)):
            raise ApiError(400, "Bad Request: START_PARAM_INVALID")
        self.inline_answers[query_id] = params
        return True

    def joined(self, chat_id: int, by: int, *, status: str = "member", old: str = "left") -> int:
        """Queue the bot's my_chat_member update: `by` added it to (or removed it from) a group."""
        chat = self._chats.chat_json(chat_id)
        bot = dict(self._chats.bot_user)
        new: dict[str, Any] = {"status": status, "user": bot}
        if status == "administrator":
            new.update(admin_rights())
        change = {
            "chat": chat,
            "from": _user(by, "Adder", None, "en"),
            "date": int(time.time()),
            "old_chat_member": {"status": old, "user": bot},
            "new_chat_member": new,
        }
        return self.raw({"my_chat_member": change})

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
