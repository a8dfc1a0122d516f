"""/dl LINK (also /dl@thisbot LINK): a link fetched when someone asks, which is how a group asks
(the bot reads nothing else there: privacy mode stays on). /dl sent as a reply to a message
with a link fetches that link, and the file answers that message, in its topic. In a private
chat /dl is the same as sending the link."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.handlers.context import BotContext
from bot.handlers.links import take_links, unlimited
from bot.handlers.message_links import command_links
from bot.i18n import N_
from bot.model.job import FormatChoice

log = logging.getLogger(__name__)

USAGE = N_(
    "⬇️ Send /dl and a link, or reply /dl to a message that has a link, and I'll fetch it here."
)
NO_LINK_THERE = N_(
    "🔗 That message has no link. Reply /dl to a message with a link, or send /dl and the link."
)


async def dl_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    record, tr = await ctx.visitor(user)
    urls, holder = command_links(message)
    # The gate counted these links against the rate limit (those of the message replied to).
    incoming = ctx.links or unlimited(urls)
    if not incoming.urls:
        log.info("dl_usage user=%d reply=%s", user.id, holder is not message)
        await message.reply_text(tr(NO_LINK_THERE if holder is not message else USAGE))
        return
    await take_links(ctx, tr, message, record, incoming, FormatChoice.AUTO, answer=holder)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("dl", dl_command))
