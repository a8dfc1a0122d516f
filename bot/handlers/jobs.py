"""/cancel, and the inline buttons of a job: Cancel and the format choice."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.guards import visit
from bot.model.job import FormatChoice

log = logging.getLogger(__name__)


async def cancel_command(update: Update, ctx: BotContext) -> None:
    if update.effective_user is None or update.effective_message is None:
        return
    if (tr := await visit(update, ctx)) is None:
        return
    count = await ctx.services.jobs.cancel_user(update.effective_user.id)
    text = (
        tr.ngettext("✖️ Stopped {n} download.", "✖️ Stopped {n} downloads.", count)
        if count
        else tr("You have no downloads going.")
    )
    await update.effective_message.reply_text(text)


async def cancel_button(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, tr = await ctx.visitor(user)
    job_id = int(query.data.split(":")[1])
    admin = ctx.services.settings.is_admin(user.id)
    stopped = await ctx.services.jobs.cancel(job_id, user.id, admin=admin)
    log.info("cancel_button user=%d job=%d stopped=%s", user.id, job_id, stopped)
    await answer(query, tr("Stopping…") if stopped else tr("This download has already ended."))


async def format_button(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, tr = await ctx.visitor(user)
    _, job_id, choice = query.data.split(":")
    taken = await ctx.services.jobs.choose(int(job_id), user.id, FormatChoice(choice))
    await answer(query, tr("Got it.") if taken else tr("This choice has expired."))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("cancel", cancel_command))
    # ASCII digits, at most 18 (a job id fits SQLite's integer): anything else is "no longer
    # active" from the catch-all, never a traceback.
    app.add_handler(CallbackQueryHandler(cancel_button, pattern=r"^cancel:[0-9]{1,18}$"))
    app.add_handler(
        CallbackQueryHandler(format_button, pattern=r"^fmt:[0-9]{1,18}:(best|small|audio|all)$")
    )
