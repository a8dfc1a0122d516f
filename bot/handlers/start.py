"""/start and /help, and their texts."""

from __future__ import annotations

import html

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from bot.config.limits import file_limit
from bot.config.settings import SplitFiles
from bot.handlers.context import BotContext
from bot.handlers.guards import visit
from bot.handlers.menu import USER_COMMANDS
from bot.i18n import Translator
from bot.presenter.texts import limit_rule


def welcome(tr: Translator, first_name: str, limit: int) -> str:
    return tr(
        "👋 Hi {name}!\n\nSend me a link and I'll send you the file: a video page from most"
        " video sites, or a direct link to a file. {limit_rule}\n\n"
        "/help shows everything I can do.",
        name=tr.isolate(html.escape(first_name)),
        limit_rule=html.escape(limit_rule(tr, limit)),
    )


def help_text(
    tr: Translator, limit: int, per_user: int, *, parts: bool = False, pdf: bool = False
) -> str:
    """`parts`: video and audio past `limit` are sent in parts (SPLIT_FILES);
    `pdf`: /pdf saves pages (PDF_PAGES)."""
    lines = [
        tr("<b>How to use me</b>"),
        tr("• Send a link, on its own or inside any text; a shared or forwarded post works too."),
        tr.ngettext(
            "• A message with several links starts a download for each, up to {n} at a time.",
            "• A message with several links starts a download for each, up to {n} at a time.",
            per_user,
        ),
        tr("• On a video page you can pick best video, a smaller video or audio only."),
        tr("• A playlist, or a page with several videos, can come whole: pick “All”."),
        tr("• I show progress while I download; press Cancel to stop."),
        tr.line("• " + html.escape(limit_rule(tr, limit))),
    ]
    if parts:
        lines.append(tr("• Longer video and audio come in parts that each play on their own."))
    if pdf:
        lines.append(
            tr("• /pdf and a link (or a link and the word pdf) saves the web page as a PDF.")
        )
    lines += [
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
    limit = file_limit(ctx.services.settings).size
    await update.effective_message.reply_text(
        welcome(tr, update.effective_user.first_name, limit), parse_mode=ParseMode.HTML
    )


async def help_command(update: Update, ctx: BotContext) -> None:
    if update.effective_user is None or update.effective_message is None:
        return
    if (tr := await visit(update, ctx)) is None:
        return
    settings = ctx.services.settings
    limit = file_limit(settings)
    parts = settings.split_files is not SplitFiles.OFF and limit.capacity < settings.max_file_size
    text = help_text(
        tr, limit.size, settings.max_jobs_per_user, parts=parts, pdf=settings.pdf_pages
    )
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
