"""/ban USER_ID and /unban USER_ID: admins only; a ban also stops the user's downloads."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from bot.handlers.context import BotContext
from bot.handlers.guards import admin_only, admin_target
from bot.history.texts import mention

log = logging.getLogger(__name__)


@admin_only
async def ban_command(update: Update, ctx: BotContext) -> None:
    t = await admin_target(update, ctx, "ban")
    if t is None:
        return
    if ctx.services.access.is_admin(t.user_id):
        await t.message.reply_text(t.tr("Admins cannot be banned (see ADMIN_IDS)."))
        return
    await ctx.services.users.set_banned(t.user_id, banned=True)
    stopped = await ctx.services.jobs.cancel_user(t.user_id)
    log.info("user_banned user=%d by=%d stopped=%d", t.user_id, t.admin.id, stopped)
    who = mention(t.tr, t.user_id, await ctx.services.users.get(t.user_id))
    await t.message.reply_text(t.tr("🚫 {user} is banned.", user=who), parse_mode=ParseMode.HTML)


@admin_only
async def unban_command(update: Update, ctx: BotContext) -> None:
    t = await admin_target(update, ctx, "unban")
    if t is None:
        return
    await ctx.services.users.set_banned(t.user_id, banned=False)
    log.info("user_unbanned user=%d by=%d", t.user_id, t.admin.id)
    who = mention(t.tr, t.user_id, await ctx.services.users.get(t.user_id))
    await t.message.reply_text(
        t.tr("✅ {user} is no longer banned.", user=who), parse_mode=ParseMode.HTML
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("ban", ban_command))
    app.add_handler(CommandHandler("unban", unban_command))
