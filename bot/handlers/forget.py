"""/forget: the user erases their own link history, after confirming with a button."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.handlers.common import answer, edit_html
from bot.handlers.context import BotContext
from bot.handlers.guards import visit
from bot.telegram_io.ui import keyboard

log = logging.getLogger(__name__)


async def forget_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or (tr := await visit(update, ctx)) is None:
        return
    count = await ctx.services.links.count(user.id)
    if not count:
        await message.reply_text(tr("Your history is already empty."))
        return
    buttons = [[(tr("🗑 Erase"), "forget:yes"), (tr("Keep it"), "forget:no")]]
    await message.reply_text(
        tr.ngettext(
            "Erase the {n} link of your history? This cannot be undone.",
            "Erase all {n} links of your history? This cannot be undone.",
            count,
        ),
        reply_markup=keyboard(buttons),
    )


async def forget_button(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or (tr := await visit(update, ctx)) is None:
        return
    if query.data == "forget:yes":
        erased = await ctx.services.history.forget(user.id)  # the presser's own, nobody else's
        log.info("history_forgotten user=%d links=%d", user.id, erased)
        text = tr.ngettext(
            "🗑 Erased {n} link from your history.", "🗑 Erased {n} links from your history.", erased
        )
    else:
        text = tr("Your history was kept.")
    await edit_html(query, text)
    await answer(query)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("forget", forget_command))
    app.add_handler(CallbackQueryHandler(forget_button, pattern=r"^forget:(yes|no)$"))
