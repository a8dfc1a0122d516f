"""What handlers share about who is asking: the visit, the admin-only lock, and the user id an
admin command names."""

from __future__ import annotations

import functools
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


def admin_only(handler: Handler) -> Handler:
    """The second lock on what only admins may do: checked where it acts, as well as by the gate.

    The gate refuses non-admins (and tells them so) before any handler runs; this is the
    check that still holds should the gate ever let one through. It refuses silently, and the
    log line says that the gate missed one.
    """

    @functools.wraps(handler)
    async def guarded(update: Update, ctx: BotContext) -> None:
        user = update.effective_user
        if user is None or not ctx.services.access.is_admin(user.id):
            who = user.id if user else None
            log.error("admin_only_refused user=%s handler=%s", who, handler.__name__)
            return
        await handler(update, ctx)

    guarded.admin_only = True  # type: ignore[attr-defined]  # read by the handlers' registry test
    return guarded


def may_read_history(ctx: BotContext, viewer: int, owner: int) -> bool:
    """One's own history, or anyone's for an admin: the second lock behind the gate's."""
    if viewer == owner or ctx.services.access.is_admin(viewer):
        return True
    log.error("admin_only_refused user=%d handler=history owner=%d", viewer, owner)
    return False


def is_admin_only(handler: object) -> bool:
    """Whether `handler` is wrapped by `admin_only`."""
    return getattr(handler, "admin_only", False) is True


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
