"""What handlers share about who is asking: the visit, and the user id an admin command names."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update, User

from bot.handlers.context import BotContext
from bot.i18n import N_, Translator

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


async def visit(update: Update, ctx: BotContext) -> Translator | None:
    """Record the user's visit; their translator (None without a user).

    Who may use the bot was decided before any handler ran (`gate`).
    """
    user = update.effective_user
    if user is None:
        return None
    _, tr = await ctx.visitor(user)
    return tr


def user_id_arg(args: Sequence[str] | None) -> int | None:
    """The one numeric user id a command was given, or None."""
    if not args or len(args) != 1:
        return None
    text = args[0].strip()
    return int(text) if text.isdecimal() and 0 < int(text) < 2**63 else None


USAGE = N_("Usage: /{command} USER_ID (a numeric Telegram user id).")


@dataclass(frozen=True, slots=True)
class Target:
    """An admin command about one user: where to answer, in which language, about whom."""

    message: Message
    admin: User
    tr: Translator
    user_id: int


async def admin_target(update: Update, ctx: BotContext, command: str) -> Target | None:
    """Read `/command USER_ID`; a missing or malformed id is answered with the usage here."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return None
    _, tr = await ctx.visitor(user)
    target = user_id_arg(ctx.args)
    if target is None:
        await message.reply_text(tr(USAGE, command=command))
        return None
    return Target(message, user, tr, target)
