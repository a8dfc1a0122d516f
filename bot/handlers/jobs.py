"""/cancel, and the inline buttons of a job: Cancel, the format question, and the other formats
under a link fetched in the user's default format. Who may press them: handlers/rights.py."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.guards import visit
from bot.handlers.links import NOT_TAKEN
from bot.handlers.refusals import LinkRules, not_taken_text
from bot.handlers.rights import may_stop
from bot.i18n import N_
from bot.jobs.engine import Admission
from bot.model.job import FormatChoice, Job

log = logging.getLogger(__name__)

NOT_YOURS = N_("Only whoever sent the link, or this group's admins, can stop it.")
NOT_YOUR_CHOICE = N_("Only whoever sent the link can choose its format.")
ENDED = N_("This download has already ended.")


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
    job = await _job(ctx, int(query.data.split(":")[1]))
    if job is None:
        await answer(query, tr(ENDED))
        return
    admins, admin = ctx.services.places.chat_admins, ctx.services.access.is_admin(user.id)
    if not await may_stop(admins, ctx.bot, job, user.id, bot_admin=admin):
        log.info("cancel_refused user=%d job=%d", user.id, job.id)
        await answer(query, tr(NOT_YOURS))
        return
    # Decided above (an admin of the bot or of the group acts for whoever sent the link).
    stopped = await ctx.services.jobs.cancel(job.id, job.user_id)
    log.info("cancel_button user=%d job=%d stopped=%s", user.id, job.id, stopped)
    await answer(query, tr("Stopping…") if stopped else tr(ENDED))


async def format_button(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, tr = await ctx.visitor(user)
    _, job_id, choice = query.data.split(":")
    taken = await ctx.services.jobs.choose(int(job_id), user.id, FormatChoice(choice))
    if not taken and (job := await _job(ctx, int(job_id))) and job.user_id != user.id:
        await answer(query, tr(NOT_YOUR_CHOICE))
        return
    await answer(query, tr("Got it.") if taken else tr("This choice has expired."))


async def redo_button(update: Update, ctx: BotContext) -> None:
    """Another format for a link being fetched in the user's default: that job stops quietly
    and a job of its own fetches the link again, answering the same message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, tr = await ctx.visitor(user)
    _, job_id, choice = query.data.split(":")
    job = await _job(ctx, int(job_id))
    if job is None or job.user_id != user.id:
        await answer(query, tr(ENDED if job is None else NOT_YOUR_CHOICE))
        return
    jobs = ctx.services.jobs
    if not await jobs.cancel(job.id, user.id, replaced=True):
        await answer(query, tr(ENDED))
        return
    result = await jobs.submit(
        user_id=user.id,
        chat_id=job.chat_id,
        url=job.url,
        language=job.language,
        reply_to=job.reply_to,
        choice=FormatChoice(choice),
        thread_id=job.thread_id,
        prefs=job.prefs,
    )
    log.info("format_switched user=%d job=%d choice=%s new=%s", user.id, job.id, choice, result)
    if result.admission is Admission.ACCEPTED:
        await answer(query, tr("Got it."))
        return
    limiter, settings = ctx.services.limiter, ctx.services.settings
    rules = LinkRules(settings.max_jobs_per_user, limiter.per_minute, limiter.retry_in(user.id))
    await answer(query, not_taken_text(tr, NOT_TAKEN[result.admission], rules))


async def _job(ctx: BotContext, job_id: int) -> Job | None:
    """The job a button names, while it is not over (None: no such job, or it ended)."""
    job = await ctx.services.places.jobs.get(job_id)
    return job if job is not None and not job.state.finished else None


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("cancel", cancel_command))
    # ASCII digits, at most 18 (a job id fits SQLite's integer): anything else is "no longer
    # active" from the catch-all, never a traceback.
    app.add_handler(CallbackQueryHandler(cancel_button, pattern=r"^cancel:[0-9]{1,18}$"))
    app.add_handler(
        CallbackQueryHandler(format_button, pattern=r"^fmt:[0-9]{1,18}:(best|small|audio|all)$")
    )
    app.add_handler(
        CallbackQueryHandler(redo_button, pattern=r"^redo:[0-9]{1,18}:(best|small|audio)$")
    )
