"""/start and /help, and their texts (in a group: how to use the bot there). /start with a
deep link's payload from an inline query starts that link's download."""

from __future__ import annotations

import html
import logging

from telegram import Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, CommandHandler

from bot.config.limits import file_limit
from bot.config.settings import SplitFiles
from bot.handlers.context import BotContext
from bot.handlers.groups import group_help
from bot.handlers.guards import visit
from bot.handlers.links import take_links
from bot.handlers.menu import USER_COMMANDS
from bot.handlers.message_links import IncomingLinks
from bot.i18n import N_, Translator
from bot.model.job import FormatChoice
from bot.presenter.texts import limit_rule
from bot.store.inline import PREFIX
from bot.store.users import UserRecord

log = logging.getLogger(__name__)

EXPIRED = N_("⌛ That link has expired. Send me the link itself and I'll fetch it.")


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
    message, user = update.effective_message, update.effective_user
    if user is None or message is None:
        return
    record, tr = await ctx.visitor(user)
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(group_help(tr, ctx.bot.username), parse_mode=ParseMode.HTML)
        return
    payload = ctx.args[0] if ctx.args and len(ctx.args) == 1 else ""
    if payload.startswith(PREFIX):
        await _deep_link(ctx, tr, message, record, payload)
        return
    limit = file_limit(ctx.services.settings).size
    await message.reply_text(welcome(tr, user.first_name, limit), parse_mode=ParseMode.HTML)


async def _deep_link(
    ctx: BotContext, tr: Translator, message: Message, record: UserRecord, token: str
) -> None:
    """The private chat an inline query's button opened: the link it was made for, fetched."""
    url = await ctx.services.places.inline.url_of(token, record.user_id)
    if url is None:
        log.info("deep_link_expired user=%d", record.user_id)
        await message.reply_text(tr(EXPIRED))
        return
    # The link is in the database, not in the message, so the gate could not count it.
    limiter = ctx.services.limiter
    links = IncomingLinks(
        (url,), limiter.take(record.user_id, 1), limiter.retry_in(record.user_id)
    )
    log.info("deep_link user=%d", record.user_id)
    await take_links(ctx, tr, message, record, links, FormatChoice.AUTO)


async def help_command(update: Update, ctx: BotContext) -> None:
    if update.effective_user is None or update.effective_message is None:
        return
    if (tr := await visit(update, ctx)) is None:
        return
    if update.effective_message.chat.type != ChatType.PRIVATE:
        text = group_help(tr, ctx.bot.username)
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)
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
