"""/pdf: a web page saved as a PDF document. Three ways in: `/pdf <link>` (or /pdf as a reply to
a message with a link, in a group too), a link with the word "pdf" beside it (links.py), and
the button under a page where no video or audio was found. Each is a job like a download: the
same limits, the same refusals, one status message, in a group as in a private chat."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.links import take_links, unlimited
from bot.handlers.message_links import IncomingLinks, command_links
from bot.i18n import N_
from bot.model.job import FormatChoice

log = logging.getLogger(__name__)

USAGE = N_(
    "📄 <b>Save a web page as a PDF</b>\n"
    "Send /pdf and the page's link, for example:\n"
    "<code>/pdf https://example.com/article</code>\n"
    "or the link with the word pdf beside it. The bot opens the page in a browser, with its"
    " pictures, and sends it back as a PDF document you can keep."
)
OFF = N_("📄 Saving pages as PDF is switched off on this bot.")
BUTTON_DATA = r"^pdf:[0-9]{1,18}$"


async def pdf_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    record, tr = await ctx.visitor(user)
    if not ctx.services.settings.pdf_pages:
        await message.reply_text(tr(OFF))
        return
    # The gate counted the command's links against the rate limit, as a message's.
    urls, holder = command_links(message)
    incoming = ctx.links or unlimited(urls)
    if not incoming.urls:
        log.info("pdf_usage user=%d", user.id)
        await message.reply_text(tr(USAGE), parse_mode=ParseMode.HTML)
        return
    await take_links(ctx, tr, message, record, incoming, FormatChoice.PDF, answer=holder)


async def pdf_button(update: Update, ctx: BotContext) -> None:
    """The page of a link that brought no media, printed: a job answering the pressed message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    record, tr = await ctx.visitor(user)
    message = query.message
    url = await ctx.services.links.url_of(int(query.data.split(":")[1]), user.id)
    if url is None or not isinstance(message, Message) or not ctx.services.settings.pdf_pages:
        await answer(query, tr("This button is no longer active."))
        return
    # The link is in the database, not in the update, so the gate could not count it.
    limiter = ctx.services.limiter
    links = IncomingLinks((url,), limiter.take(user.id, 1), limiter.retry_in(user.id))
    await answer(query, tr("📄 Printing the page…"))
    await take_links(ctx, tr, message, record, links, FormatChoice.PDF)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("pdf", pdf_command))
    app.add_handler(CallbackQueryHandler(pdf_button, pattern=BUTTON_DATA))
