"""Access checks the handlers share: the user's access verdict, admin-only commands, user ids."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update, User

from bot.access import Verdict
from bot.context import BotContext
from bot.handlers import errors
from bot.handlers.common import answer
from bot.i18n import N_, Translator

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]

REFUSAL = N_("⛔ Sorry, this bot is not available to you.")
RESTRICTED = N_("🔒 Access to this bot is restricted.")


async def admitted(
    update: Update, ctx: BotContext, what: str, refusal: str = REFUSAL
) -> Translator | None:
    """Record the visit and ask Access; a refused user is answered here and gets None."""
    user = update.effective_user
    if user is None:
        return None
    record, tr = await ctx.services.seen(user)
    verdict = ctx.services.access.verdict(record)
    if verdict is Verdict.ALLOWED:
        return tr
    log.info("access_denied user=%d verdict=%s what=%s", user.id, verdict, what)
    if update.callback_query is not None:
        await answer(update.callback_query, tr(refusal))
    elif update.effective_message is not None:
        await update.effective_message.reply_text(tr(refusal))
    return None


def admin_only(handler: Handler) -> Handler:
    """Run `handler` for admins; anyone else gets what an unknown command or button gets."""

    @functools.wraps(handler)
    async def guarded(update: Update, ctx: BotContext) -> None:
        user = update.effective_user
        if user is None:
            return
        if ctx.services.access.is_admin(user.id):
            await handler(update, ctx)
            return
        log.info("admin_refused user=%d", user.id)
        if update.callback_query is not None:
            await errors.unknown_callback(update, ctx)
        else:
            await errors.unsupported_message(update, ctx)

    return guarded


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
    _, tr = await ctx.services.seen(user)
    target = user_id_arg(ctx.args)
    if target is None:
        await message.reply_text(tr(USAGE, command=command))
        return None
    return Target(message, user, tr, target)
