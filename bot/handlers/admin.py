"""/admin: a panel of statistics, recent users and the settings in force, switched by buttons."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.handlers import cookies, ytdlp_panel
from bot.handlers.admin_panel import (
    PANEL_VIEWS,
    panel_buttons,
    settings_text,
    stats_text,
    users_text,
)
from bot.handlers.common import answer, edit_html
from bot.handlers.context import BotContext
from bot.handlers.cookies import cookies_page
from bot.handlers.guards import admin_only
from bot.handlers.ytdlp_panel import ytdlp_page
from bot.i18n import Translator
from bot.telegram_io.chat import Buttons
from bot.telegram_io.ui import keyboard

RECENT_USERS = 15


async def panel_page(ctx: BotContext, tr: Translator, view: str) -> tuple[str, Buttons]:
    """A page of the panel and its buttons: the page's own, then the panel's."""
    if view == "cookies":
        text, buttons = await cookies_page(ctx, tr)
        return text, buttons + panel_buttons(tr)
    if view == "ytdlp":
        text, buttons = await ytdlp_page(ctx, tr, ctx.services.js_runtime)
        return text, buttons + panel_buttons(tr)
    return await panel_view(ctx, tr, view), panel_buttons(tr)


async def panel_view(ctx: BotContext, tr: Translator, view: str) -> str:
    services = ctx.services
    if view == "users":
        return users_text(tr, await services.users.recent(RECENT_USERS), services.settings.zone)
    if view == "settings":
        last_run, next_run = await services.expiry.schedule()
        return settings_text(tr, services.settings, last_run, next_run)
    stats = await services.stats.collect()
    days = services.settings.link_retention_days
    return stats_text(tr, stats, services.jobs.running, services.jobs.queued, days)


@admin_only
async def admin_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    _, tr = await ctx.visitor(user)
    text, buttons = await panel_page(ctx, tr, "stats")
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard(buttons))


@admin_only
async def admin_button(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, tr = await ctx.visitor(user)
    text, buttons = await panel_page(ctx, tr, query.data.removeprefix("adm:"))
    await edit_html(query, text, keyboard(buttons))
    await answer(query)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("admin", admin_command))
    views = "|".join(PANEL_VIEWS)
    app.add_handler(CallbackQueryHandler(admin_button, pattern=rf"^adm:({views})$"))
    cookies.register(app)
    ytdlp_panel.register(app)
