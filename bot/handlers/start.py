"""/start and /help, and their texts."""

from __future__ import annotations

import html

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from bot.handlers.context import BotContext
from bot.handlers.guards import visit
from bot.handlers.menu import USER_COMMANDS
from bot.i18n import Translator
from bot.i18n.formats import human_size


def welcome(tr: Translator, first_name: str, limit: str) -> str:
    return tr(
        "👋 Hi {name}!\n\nSend me a link and I'll send you the file: a video page from any site"
        " yt-dlp supports, or a direct file link. Files up to {limit} are delivered here.\n\n"
        "/help shows everything I can do.",
        name=tr.isolate(html.escape(first_name)),
        limit=limit,
    )


def help_text(tr: Translator, limit: str) -> str:
    lines = [
        tr("<b>How to use me</b>"),
        tr("• Send one link (http or https) in a message."),
        tr("• On a video page you can pick best video, a smaller video or audio only."),
        tr("• I show progress while I download; press Cancel to stop."),
        tr("• Files up to {limit}.", limit=limit),
        "",
        tr("<b>Commands</b>"),
    ]
    lines += [tr.line(f"{tr.ltr('/' + name)} — {tr(desc)}") for name, desc in USER_COMMANDS]
    return "\n".join(lines)


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
