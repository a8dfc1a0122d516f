"""The fake Bot API's chats: the bot's messages in each chat and the text methods on them, forum
topics (a message goes into the topic its `message_thread_id` names, else into the topic of the
message it replies to, else into General; in a forum a reply to a message that is gone is
refused whatever allow_sending_without_reply says, as Telegram does there), and each member's
status (getChatMember)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.errors import ApiError
from tests.fakes.records import ChatMessage, FileRecord, UploadedFile
from tests.fakes.tg_text import render, utf16_len

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass(slots=True)
class _Stored:
    message_id: int
    date: int
    kind: str
    text: str | None = None
    caption: str | None = None
    source: str | None = None  # text or caption as sent, before the parse mode was applied
    reply_markup: dict[str, Any] | None = None
    media: dict[str, Any] = field(default_factory=dict)
    record: FileRecord | None = None
    edit_date: int | None = None
    thread_id: int | None = None  # the forum topic it is in
    reply_to: int | None = None  # the message it answers


def inline_markup(value: object) -> dict[str, Any] | None:
    """The markup Telegram keeps on a message: only a non-empty inline keyboard."""
    if isinstance(value, dict) and value.get("inline_keyboard"):
        return value
    return None


def admin_rights() -> dict[str, bool]:
    """The fields of a ChatMemberAdministrator besides its status and user (none granted)."""
    names = (
        "can_be_edited",
        "is_anonymous",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
    )
    return dict.fromkeys(names, False)


def _now() -> int:
    return int(time.time())


class ChatStore:
    """Messages per chat; message ids are shared with the user's messages, as in Telegram."""

    def __init__(self, bot_user: dict[str, Any]) -> None:
        self.bot_user = bot_user
        self.blocked_chats: set[int] = set()
        self.missing_chats: set[int] = set()
        self._bot_messages: dict[int, dict[int, _Stored]] = {}
        self._user_messages: dict[int, set[int]] = {}
        self._last_id: dict[int, int] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._topics: dict[int, set[int]] = {}  # a forum's topics (their thread ids)
        self._threads: dict[tuple[int, int], int] = {}  # a user's message in a topic
        # getChatMember: "creator", "administrator", "member" (the default), "left", "kicked"
        self.members: dict[tuple[int, int], str] = {}

    # --- chats and ids ---------------------------------------------------------------------

    def remember_chat(self, chat: dict[str, Any]) -> None:
        """Keep a chat object seen in an update, for getChat and the bot's messages."""
        if isinstance(chat.get("id"), int):
            self._chats[chat["id"]] = dict(chat)

    def chat_json(self, chat_id: int) -> dict[str, Any]:
        """The chat object Telegram puts in messages."""
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": "Group"}
        return {"id": chat_id, "type": "private", "first_name": "User"}

    def forum(self, chat_id: int, title: str = "Forum") -> None:
        """Make `chat_id` a supergroup with topics."""
        self._chats[chat_id] = {
            "id": chat_id,
            "type": "supergroup",
            "title": title,
            "is_forum": True,
        }

    def topic(self, chat_id: int) -> int:
        """Open a topic in the forum; its thread id (its first message's id, as Telegram's)."""
        thread = self.next_message_id(chat_id)
        self._topics.setdefault(chat_id, set()).add(thread)
        return thread

    def is_forum(self, chat_id: int) -> bool:
        return bool(self._chats.get(chat_id, {}).get("is_forum"))

    def thread_of(self, chat_id: int, message_id: int) -> int | None:
        """The topic a message (the bot's or a user's) is in."""
        stored = self._find(chat_id, message_id)
        if stored is not None:
            return stored.thread_id
        return self._threads.get((chat_id, message_id))

    def note_thread(self, chat_id: int, message_id: int, thread: int) -> None:
        self._threads[(chat_id, message_id)] = thread

    def get_member(self, params: dict[str, Any]) -> dict[str, Any]:
        """getChatMember."""
        chat_id = self.check_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        status = self.members.get((chat_id, user_id), "member")
        user = {"id": user_id, "is_bot": user_id == self.bot_user["id"], "first_name": "U"}
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "administrator":
            member.update(admin_rights())
        elif status == "creator":
            member["is_anonymous"] = False
        return member

    def next_message_id(self, chat_id: int) -> int:
        """Allocate the chat's next message id."""
        self._last_id[chat_id] = self._last_id.get(chat_id, 0) + 1
        return self._last_id[chat_id]

    def add_user_message(self, chat_id: int, message_id: int) -> None:
        """Note a message the user sent, so replies and deletions can refer to it."""
        self._user_messages.setdefault(chat_id, set()).add(message_id)
        self._last_id[chat_id] = max(self._last_id.get(chat_id, 0), message_id)

    def check_chat(self, params: dict[str, Any]) -> int:
        """The call's chat_id, or the error Telegram answers for it."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or chat_id in self.missing_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        """getChat."""
        chat = self.chat_json(self.check_chat(params))
        chat.setdefault("accent_color_id", 0)
        chat.setdefault("max_reaction_count", 11)
        return chat

    # --- reading state ---------------------------------------------------------------------

    def snapshot(self, chat_id: int) -> list[ChatMessage]:
        """The bot's current messages in a chat, oldest first."""
        return [self._to_chat_message(m) for m in self._bot_messages.get(chat_id, {}).values()]

    def message_json(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """The full Message object of one of the bot's messages."""
        stored = self._find(chat_id, message_id)
        if stored is None:
            raise KeyError(f"the bot has no message {message_id} in chat {chat_id}")
        return self._to_json(chat_id, stored)

    # --- methods ---------------------------------------------------------------------------

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendMessage."""
        chat_id = self.check_chat(params)
        text = self._text(params.get("text"), params.get("parse_mode"))
        thread, reply = self._placed(chat_id, params)
        stored = _Stored(
            self.next_message_id(chat_id),
            _now(),
            "text",
            text=text,
            source=str(params.get("text")),
            reply_markup=inline_markup(params.get("reply_markup")),
            thread_id=thread,
            reply_to=reply,
        )
        return self._store(chat_id, stored)

    def send_file(
        self, kind: str, params: dict[str, Any], record: FileRecord, media: dict[str, Any]
    ) -> dict[str, Any]:
        """The message of sendDocument and friends, once the file is known."""
        chat_id = self.check_chat(params)
        caption = self._caption(params)
        thread, reply = self._placed(chat_id, params)
        stored = _Stored(
            self.next_message_id(chat_id),
            _now(),
            kind,
            caption=caption,
            source=params.get("caption"),
            reply_markup=inline_markup(params.get("reply_markup")),
            media=media,
            record=record,
            thread_id=thread,
            reply_to=reply,
        )
        return self._store(chat_id, stored)

    def edit_text(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageText."""
        chat_id, stored = self._editable(params)
        if stored.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = self._text(params.get("text"), params.get("parse_mode"))
        markup = inline_markup(params.get("reply_markup"))
        source = str(params.get("text"))
        if (text, source, markup) == (stored.text, stored.source, stored.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        stored.text, stored.source, stored.reply_markup = text, source, markup
        stored.edit_date = _now()
        return self._to_json(chat_id, stored)

    def edit_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageCaption."""
        chat_id, stored = self._editable(params)
        if stored.text is not None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = self._caption(params)
        markup = inline_markup(params.get("reply_markup"))
        source = params.get("caption")
        if (caption, source, markup) == (stored.caption, stored.source, stored.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        stored.caption, stored.source, stored.reply_markup = caption, source, markup
        stored.edit_date = _now()
        return self._to_json(chat_id, stored)

    def edit_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageReplyMarkup."""
        chat_id, stored = self._editable(params)
        markup = inline_markup(params.get("reply_markup"))
        if markup == stored.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        stored.reply_markup = markup
        stored.edit_date = _now()
        return self._to_json(chat_id, stored)

    def delete(self, params: dict[str, Any]) -> bool:
        """deleteMessage: the bot's messages and, in private chats, the user's."""
        chat_id = self.check_chat(params)
        message_id = params.get("message_id")
        if isinstance(message_id, int):
            if self._bot_messages.get(chat_id, {}).pop(message_id, None) is not None:
                return True
            users = self._user_messages.get(chat_id, set())
            if message_id in users:
                users.discard(message_id)
                return True
        raise ApiError(400, "Bad Request: message to delete not found")

    # --- helpers ---------------------------------------------------------------------------

    def _find(self, chat_id: int, message_id: object) -> _Stored | None:
        if not isinstance(message_id, int):
            return None
        return self._bot_messages.get(chat_id, {}).get(message_id)

    def _editable(self, params: dict[str, Any]) -> tuple[int, _Stored]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self.check_chat(params)
        stored = self._find(chat_id, params.get("message_id"))
        if stored is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat_id, stored

    @staticmethod
    def _text(value: object, parse_mode: object) -> str:
        text = render(value, parse_mode) if isinstance(value, str) else ""
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    @staticmethod
    def _caption(params: dict[str, Any]) -> str | None:
        value = params.get("caption")
        caption = render(value, params.get("parse_mode")) if isinstance(value, str) else ""
        if utf16_len(caption) > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        return caption or None

    def _placed(self, chat_id: int, params: dict[str, Any]) -> tuple[int | None, int | None]:
        """The topic a new message goes into and the message it replies to (None: it replies
        to none: the target is gone and it may go without)."""
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            reply = {
                "message_id": params.get("reply_to_message_id"),
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        thread = params.get("message_thread_id")
        forum = self.is_forum(chat_id)
        if thread is not None and (not forum or thread not in self._topics.get(chat_id, set())):
            raise ApiError(400, "Bad Request: message thread not found")
        target = reply.get("message_id")
        if not isinstance(target, int):
            return thread, None
        known = self._user_messages.get(chat_id, set())
        if self._find(chat_id, target) is None and target not in known:
            if forum or not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
            return thread, None
        return (thread if thread is not None else self.thread_of(chat_id, target)), target

    def _store(self, chat_id: int, stored: _Stored) -> dict[str, Any]:
        self._bot_messages.setdefault(chat_id, {})[stored.message_id] = stored
        return self._to_json(chat_id, stored)

    def _to_json(self, chat_id: int, stored: _Stored) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": stored.message_id,
            "from": dict(self.bot_user),
            "chat": self.chat_json(chat_id),
            "date": stored.date,
        }
        if stored.edit_date is not None:
            message["edit_date"] = stored.edit_date
        if stored.text is not None:
            message["text"] = stored.text
        message.update(stored.media)
        if stored.caption is not None:
            message["caption"] = stored.caption
        if stored.reply_markup is not None:
            message["reply_markup"] = stored.reply_markup
        if stored.thread_id is not None:
            message.update(message_thread_id=stored.thread_id, is_topic_message=True)
        return message

    @staticmethod
    def _to_chat_message(stored: _Stored) -> ChatMessage:
        upload: UploadedFile | None = stored.record.upload if stored.record else None
        return ChatMessage(
            message_id=stored.message_id,
            kind=stored.kind,
            text=stored.text,
            caption=stored.caption,
            reply_markup=stored.reply_markup,
            file=upload,
            file_id=stored.record.file_id if stored.record else None,
            date=stored.date,
            edited=stored.edit_date is not None,
            thread_id=stored.thread_id,
            reply_to=stored.reply_to,
        )
