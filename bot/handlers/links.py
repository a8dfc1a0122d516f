"""A message with a link starts a job; any other text gets told what the bot expects."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, MessageHandler, filters

from bot.download.urls import extract_url
from bot.handlers.context import BotContext
from bot.handlers.guards import visit
from bot.i18n import N_, Translator
from bot.i18n.formats import number
from bot.jobs.engine import Admission

log = logging.getLogger(__name__)

REFUSALS = {
    Admission.USER_LIMIT: N_(
        "⏳ You already have {n} downloads going. Wait for one to finish or /cancel it."
    ),
    Admission.QUEUE_FULL: N_(
        "🚦 The bot is very busy right now. Please try again in a few minutes."
    ),
    Admission.STOPPING: N_("🔄 The bot is restarting. Please send the link again in a minute."),
    Admission.UNAVAILABLE: N_(
        "🔌 Downloads are unavailable for a moment. Please send the link again in a minute."
    ),
}


def not_a_link(tr: Translator) -> str:
    return tr("🔗 Send me a link (starting with http:// or https://) and I'll fetch the file.")


async def on_text(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or update.effective_chat is None:
        return
    tr = await visit(update, ctx)
    if tr is None:
        return
    url = extract_url(message.text or "")
    if url is None:
        log.info("not_a_link user=%d length=%d", user.id, len(message.text or ""))
        await message.reply_text(not_a_link(tr), parse_mode=ParseMode.HTML)
        return
    result = await ctx.services.jobs.submit(
        user_id=user.id,
        chat_id=update.effective_chat.id,
        url=url,
        language=tr.language,
        reply_to=message.message_id,
    )
    if result.admission is not Admission.ACCEPTED:
        log.info("link_refused user=%d why=%s", user.id, result.admission)
        n = number(tr, ctx.services.settings.max_jobs_per_user, 0)
        await message.reply_text(tr(REFUSALS[result.admission], n=n))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
