"""/start and /help."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from bot.context import BotContext
from bot.handlers.guards import visit
from bot.render import human_size
from bot.texts import help_text, welcome


async def start(update: Update, ctx: BotContext) -> None:
    if update.effective_user is None or update.effective_message is None:
        return
    if (tr := await visit(update, ctx)) is None:
        return
    limit = human_size(tr, ctx.services.settings.max_file_size)
    await update.effective_message.reply_text(
        welcome(tr, update.effective_user.first_name, limit), parse_mode=ParseMode.HTML
    )


async def help_command(update: Update, ctx: BotContext) -> None:
    if update.effective_user is None or update.effective_message is None:
        return
    if (tr := await visit(update, ctx)) is None:
        return
    limit = human_size(tr, ctx.services.settings.max_file_size)
    await update.effective_message.reply_text(help_text(tr, limit), parse_mode=ParseMode.HTML)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
