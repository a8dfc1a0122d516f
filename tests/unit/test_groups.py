"""Groups: which the bot works in (GROUPS, ALLOWED_CHATS, who added it), what of a group the gate
lets through (commands for this bot, links where /autodl is on, members it serves), where a
command's links are (its own, or the message it answers), and a forum topic's id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from telegram import (
    CallbackQuery,
    Chat,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberUpdated,
    Message,
    MessageEntity,
    Update,
    User,
)

from bot.access.groups import GroupRules
from bot.access.ratelimit import RateLimiter
from bot.access.rules import Access
from bot.config.settings import Groups
from bot.handlers.context import BotContext
from bot.handlers.gate import _judge
from bot.handlers.message_links import command_links, thread_of
from bot.i18n import I18n, Translator
from bot.store.groups import GroupRecord
from bot.store.users import UserRecord

ADMIN, MEMBER, BANNED = 1, 2, 3
LISTED, ADDED, OTHER = -100, -200, -300
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LINK = "https://example.com/v"


def test_which_groups_the_bot_works_in() -> None:
    by_admin, by_member = GroupRecord(ADDED, ADMIN), GroupRecord(OTHER, MEMBER)
    allowed = GroupRules(Groups.ALLOWED, frozenset({LISTED}), frozenset({ADMIN}))
    assert allowed.allows(LISTED, None)
    assert allowed.allows(ADDED, by_admin)
    assert not allowed.allows(OTHER, by_member)
    assert not allowed.allows(OTHER, None)
    assert not allowed.allows(OTHER, GroupRecord(OTHER, None, autodl=True))  # /autodl alone
    everywhere = GroupRules(Groups.ALL, frozenset(), frozenset())
    assert everywhere.allows(OTHER, None)
    off = GroupRules(Groups.OFF, frozenset({LISTED}), frozenset({ADMIN}))
    assert not off.allows(LISTED, None)
    assert not off.allows(ADDED, by_admin)
    assert not off.enabled


@dataclass
class _Groups:
    records: dict[int, GroupRecord] = field(default_factory=dict)

    async def get(self, chat_id: int) -> GroupRecord | None:
        return self.records.get(chat_id)


@dataclass
class _Places:
    groups: _Groups
    rules: GroupRules = field(
        default_factory=lambda: GroupRules(Groups.ALLOWED, frozenset({LISTED}), frozenset({ADMIN}))
    )


@dataclass
class _Services:
    places: _Places
    access: Access = field(default_factory=lambda: Access(frozenset({ADMIN}), None))
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(10))

    async def translator_of(self, user_id: int, code: str | None = None) -> Translator:
        return I18n().get("en")


@dataclass
class _Bot:
    username: str = "tgfetch_bot"


@dataclass
class _Context:
    services: _Services
    bot: _Bot = field(default_factory=_Bot)
    links: Any = None

    async def visitor(self, user: User) -> tuple[UserRecord, Translator]:
        record = UserRecord(user.id, "U", None, "en", None, user.id == BANNED, WHEN)
        return record, I18n().get("en")


def _ctx(autodl: bool = False) -> _Context:
    records = {LISTED: GroupRecord(LISTED, None, autodl=autodl)}
    return _Context(_Services(_Places(_Groups(records))))


def _message(text: str, chat: int = LISTED, user: int = MEMBER, **more: Any) -> Message:
    entities = []
    if text.startswith("/"):
        entities.append(MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text.split()[0])))
    if LINK in text:
        entities.append(MessageEntity(MessageEntity.URL, text.index(LINK), len(LINK)))
    return Message(
        7,
        WHEN,
        Chat(chat, Chat.SUPERGROUP),
        from_user=User(user, "U", is_bot=False),
        text=text,
        entities=entities,
        **more,
    )


async def _judged(update: Update, ctx: _Context) -> tuple[str | None, bool]:
    """(why it was refused, or None; whether the refusal says something)."""
    refusal = await _judge(update, cast(BotContext, ctx))
    return (None, False) if refusal is None else (refusal.why, refusal.reply is not None)


@pytest.mark.parametrize(
    ("text", "autodl", "judged"),
    [
        (f"/dl {LINK}", False, (None, False)),  # a command for this bot
        (f"/dl@tgfetch_bot {LINK}", False, (None, False)),
        (f"/dl@other_bot {LINK}", False, ("group", False)),  # another bot's: not a word
        (f"see {LINK}", False, ("group", False)),  # nobody asked
        (f"see {LINK}", True, (None, False)),  # /autodl is on
        ("just chatting", True, ("group", False)),
        ("/history@tgfetch_bot", False, ("in_private", True)),  # a pointer to a private chat
        ("/start@tgfetch_bot", False, (None, False)),  # how to use it here
    ],
)
async def test_what_of_a_group_reaches_the_handlers(
    text: str, autodl: bool, judged: tuple[str | None, bool]
) -> None:
    ctx = _ctx(autodl)
    assert await _judged(Update(1, message=_message(text)), ctx) == judged
    if judged[0] is None and LINK in text:
        assert ctx.links is not None and ctx.links.urls == (LINK,)  # counted by the rate limit


async def test_in_a_group_it_does_not_work_in_only_a_command_for_it_is_answered() -> None:
    ctx = _ctx()
    link = Update(1, message=_message(f"see {LINK}", chat=OTHER))
    command = Update(2, message=_message(f"/dl {LINK}", chat=OTHER))
    assert await _judged(link, ctx) == ("group", False)
    assert await _judged(command, ctx) == ("group", True)  # the pointer


async def test_a_member_the_bot_does_not_serve_gets_nothing_in_the_group() -> None:
    ctx = _ctx()
    update = Update(1, message=_message(f"/dl {LINK}", user=BANNED))
    assert await _judged(update, ctx) == ("banned", False)
    status = _message("status", user=99)
    query = CallbackQuery(
        "q", User(BANNED, "U", is_bot=False), "c", message=status, data="cancel:1"
    )
    pressed = Update(2, callback_query=query)
    assert await _judged(pressed, ctx) == ("banned", True)  # a word only they see


async def test_the_bot_added_to_a_group_reaches_its_handler_whoever_added_it() -> None:
    bot = User(99, "bot", is_bot=True)
    change = ChatMemberUpdated(
        Chat(OTHER, Chat.GROUP),
        User(MEMBER, "U", is_bot=False),
        WHEN,
        ChatMemberLeft(bot),
        ChatMemberMember(bot),
    )
    assert await _judged(Update(1, my_chat_member=change), _ctx()) == (None, False)


def test_a_commands_links_are_its_own_or_those_of_the_message_it_answers() -> None:
    own = _message(f"/dl {LINK}")
    assert command_links(own) == ([LINK], own)
    posted = _message(f"look {LINK}", user=ADMIN)
    reply = _message("/dl", reply_to_message=posted)
    assert command_links(reply) == ([LINK], posted)
    bare = _message("/dl", reply_to_message=_message("no link here"))
    assert command_links(bare)[0] == []


def test_a_topic_is_a_thread_of_a_forum_only() -> None:
    in_topic = _message("/dl", message_thread_id=42, is_topic_message=True)
    assert thread_of(in_topic) == 42
    # A reply in a group without topics carries a thread id too: not a topic.
    assert thread_of(_message("/dl", message_thread_id=42)) is None
