"""/ban USER_ID and /unban USER_ID: admins only; a ban also stops the user's downloads."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from bot.context import BotContext
from bot.handlers.guards import admin_only, user_id_arg
from bot.handlers.inspect import usage
from bot.render_links import mention

log = logging.getLogger(__name__)


@admin_only
async def ban_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    _, tr = await ctx.services.seen(user)
    target = user_id_arg(ctx.args)
    if target is None:
        await usage(message, tr, "ban")
        return
    if ctx.services.access.is_admin(target):
        await message.reply_text(tr("Admins cannot be banned (see ADMIN_IDS)."))
        return
    await ctx.services.users.set_banned(target, banned=True)
    stopped = await ctx.services.jobs.cancel_user(target)
    log.info("user_banned user=%d by=%d stopped=%d", target, user.id, stopped)
    who = mention(tr, target, await ctx.services.users.get(target))
    await message.reply_text(tr("🚫 {user} is banned.", user=who), parse_mode=ParseMode.HTML)


@admin_only
async def unban_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    _, tr = await ctx.services.seen(user)
    target = user_id_arg(ctx.args)
    if target is None:
        await usage(message, tr, "unban")
        return
    await ctx.services.users.set_banned(target, banned=False)
    log.info("user_unbanned user=%d by=%d", target, user.id)
    who = mention(tr, target, await ctx.services.users.get(target))
    await message.reply_text(
        tr("✅ {user} is no longer banned.", user=who), parse_mode=ParseMode.HTML
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("ban", ban_command))
    app.add_handler(CommandHandler("unban", unban_command))
