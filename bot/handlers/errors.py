"""The global error handler, and polite answers to updates nothing else handles."""

from __future__ import annotations

import logging
import sqlite3

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.message_links import is_command
from bot.handlers.refusals import NO_LINK, UNKNOWN_COMMAND
from bot.i18n import Translator
from bot.telegram_io.failures import AnswerLostError

log = logging.getLogger(__name__)


async def on_error(update: object, ctx: BotContext) -> None:
    """Logs the traceback, tells the user once if it can, and ends the update there.

    Whatever failed, no handler after the one that failed sees the update: a refusal whose
    reply failed, or a check that raised, must never turn into permission.
    """
    try:
        await _report(update, ctx)
    except Exception:  # the error handler is the last boundary: it must reach the stop below
        log.exception("error_handler_failed update=%s", _update_id(update))
    raise ApplicationHandlerStop


async def _report(update: object, ctx: BotContext) -> None:
    update_id = _update_id(update)
    if isinstance(ctx.error, AnswerLostError):
        # The reply went out and only its answer was lost: the user most likely has it, and
        # an apology for a failure they did not see would be a second, wrong message.
        log.warning("reply_unconfirmed update=%s method=%s", update_id, ctx.error.method)
        return
    log.error("handler_error update=%s", update_id, exc_info=ctx.error)
    if not isinstance(update, Update) or isinstance(ctx.error, Forbidden):
        return
    chat = update.effective_chat
    if chat is None:
        return
    tr = await _translator(update, ctx)
    try:
        if update.callback_query is not None:
            await answer(update.callback_query, tr("Something went wrong. Please try again."))
        else:
            await ctx.bot.send_message(chat.id, tr("⚠️ Something went wrong. Please try again."))
    except TelegramError as exc:
        log.warning("error_reply_failed update=%s error=%r", update_id, exc)


def _update_id(update: object) -> int | None:
    return update.update_id if isinstance(update, Update) else None


async def _translator(update: Update, ctx: BotContext) -> Translator:
    """The user's language; when the database is what failed, what Telegram reports."""
    user = update.effective_user
    if user is None:
        return ctx.services.i18n.get(None)
    try:
        return await ctx.services.translator_of(user.id, user.language_code)
    except (sqlite3.Error, RuntimeError):
        return ctx.services.i18n.get(user.language_code)


async def unknown_callback(update: Update, ctx: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    log.info(
        "unknown_callback user=%s", update.effective_user.id if update.effective_user else None
    )
    tr = await ctx.services.translator_of(query.from_user.id, query.from_user.language_code)
    await answer(query, tr("This button is no longer active."))


async def unsupported_message(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return  # stay quiet in groups
    _, tr = await ctx.visitor(user)
    command = is_command(message)
    log.info("unsupported_message user=%d command=%s", user.id, command)
    await message.reply_text(tr(UNKNOWN_COMMAND if command else NO_LINK))


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Catch-alls: registered after every other handler of group 0, so real handlers win."""
    app.add_handler(CallbackQueryHandler(unknown_callback))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.TEXT, unsupported_message))
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, unsupported_message)
    )
    app.add_error_handler(on_error)
