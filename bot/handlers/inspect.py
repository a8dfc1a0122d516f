"""/check USER_ID (a user's history) and /expiring (the expiry notice, now): admins only."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from bot.handlers.context import BotContext
from bot.handlers.guards import admin_only, admin_target
from bot.handlers.history import history_view
from bot.telegram_io.ui import NO_PREVIEW


@admin_only
async def check_command(update: Update, ctx: BotContext) -> None:
    t = await admin_target(update, ctx, "check")
    if t is None:
        return
    text, markup = await history_view(ctx, t.tr, t.user_id, t.admin.id)
    await t.message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


@admin_only
async def expiring_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    _, tr = await ctx.visitor(user)
    expiry = ctx.services.expiry
    parts = await expiry.preview(tr)
    if not parts:
        await message.reply_text(
            tr.ngettext(
                "Nothing will be purged within {n} hour.",
                "Nothing will be purged within {n} hours.",
                expiry.window_hours,
            )
        )
    for part in parts:
        await message.reply_text(part, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("check", check_command))
    app.add_handler(CommandHandler("expiring", expiring_command))
