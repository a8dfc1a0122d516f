"""The second lock behind the gate: every admin command and admin button acts for admins only,
even when called without the gate in front of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast

from telegram import Chat, Document, Message, Update, User
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler

from bot.access.rules import Access
from bot.daemon.app import register_handlers
from bot.handlers.context import BotContext
from bot.handlers.gate import ADMIN_ONLY
from bot.handlers.guards import admin_only, is_admin_only, may_read_history
from bot.ops.metrics import Metrics

ADMIN, MEMBER = 1, 2


@dataclass
class _Services:
    access: Access = field(default_factory=lambda: Access(frozenset({ADMIN}), None))


@dataclass
class _Context:
    services: _Services = field(default_factory=_Services)


def _ctx() -> BotContext:
    return cast(BotContext, _Context())


def _command(user_id: int, text: str) -> Update:
    user = User(user_id, "U", is_bot=False)
    chat = Chat(user_id, Chat.PRIVATE)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return Update(1, message=Message(1, when, chat, from_user=user, text=text))


async def test_an_admin_only_handler_acts_for_an_admin_and_for_nobody_else() -> None:
    acted: list[int] = []

    @admin_only
    async def ban(update: Update, _ctx: BotContext) -> None:
        assert update.effective_user is not None
        acted.append(update.effective_user.id)

    await ban(_command(MEMBER, "/ban 3"), _ctx())
    await ban(_command(ADMIN, "/ban 3"), _ctx())
    assert acted == [ADMIN]


def test_someone_elses_history_is_for_admins_only() -> None:
    ctx = _ctx()
    assert may_read_history(ctx, MEMBER, MEMBER)
    assert may_read_history(ctx, ADMIN, MEMBER)
    assert not may_read_history(ctx, MEMBER, ADMIN)


# One sample of every admin button's data (a new button's pattern must match one of these).
ADMIN_BUTTONS = (
    "adm:stats",
    "adm:users",
    "adm:settings",
    "adm:cookies",
    "adm:ckrm:a.com.txt",
    "adm:ytdlp",
    "adm:ytup",
)


def test_every_admin_command_and_admin_button_is_locked_where_it_acts() -> None:
    app = Application.builder().token("1:fake").build()
    register_handlers(app, Metrics())  # type: ignore[arg-type]
    commands: set[str] = set()
    buttons: set[str] = set()
    for handler in app.handlers[0]:
        if isinstance(handler, CommandHandler) and handler.commands & ADMIN_ONLY:
            assert is_admin_only(handler.callback), handler.commands
            commands |= handler.commands
        pattern = getattr(handler, "pattern", None)
        if isinstance(handler, CallbackQueryHandler) and pattern:
            if matched := {data for data in ADMIN_BUTTONS if pattern.match(data)}:
                assert is_admin_only(handler.callback), pattern
                buttons |= matched
            assert not pattern.match("adm:anything-else") or is_admin_only(handler.callback)
    assert commands == ADMIN_ONLY
    assert buttons == set(ADMIN_BUTTONS)
    # A document is a cookies file for the admin panel: whatever takes it acts for admins only.
    document = _document()
    taker = next(h for h in app.handlers[0] if h.check_update(document))
    assert isinstance(taker, MessageHandler)
    assert is_admin_only(taker.callback)


def _document() -> Update:
    user = User(ADMIN, "A", is_bot=False)
    chat = Chat(ADMIN, Chat.PRIVATE)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    doc = Document("id", "uid", file_name="cookies.txt", file_size=10)
    return Update(1, message=Message(1, when, chat, from_user=user, document=doc))
