"""/history: the user's own links, newest first, a page at a time (admins reuse it for /check)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.handlers.common import answer, edit_html
from bot.handlers.context import BotContext
from bot.handlers.guards import may_read_history, visit
from bot.history.texts import history_buttons, history_text, mention
from bot.i18n import Translator
from bot.telegram_io.ui import NO_PREVIEW, keyboard


async def history_view(
    ctx: BotContext, tr: Translator, owner: int, viewer: int, page: int = 0
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and Prev/Next buttons of one page of `owner`'s history, as `viewer` sees it."""
    services = ctx.services
    found = await services.history.page(owner, page)
    label = None if owner == viewer else mention(tr, owner, await services.users.get(owner))
    days = services.settings.link_retention_days
    text = history_text(tr, services.settings.zone, found, days, owner=label)
    return text, keyboard(history_buttons(tr, found))


async def history_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or (tr := await visit(update, ctx)) is None:
        return
    text, markup = await history_view(ctx, tr, user.id, user.id)
    await message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


async def history_page(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    if (tr := await visit(update, ctx)) is None:
        return
    _, owner, page = query.data.split(":")  # someone else's: admins only (the gate, and here)
    if not may_read_history(ctx, user.id, int(owner)):
        return
    text, markup = await history_view(ctx, tr, int(owner), user.id, int(page))
    await edit_html(query, text, markup)
    await answer(query)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("history", history_command))
    # Bounded ASCII numbers: a page number past SQLite's integers was a traceback.
    app.add_handler(CallbackQueryHandler(history_page, pattern=r"^hist:[0-9]{1,18}:[0-9]{1,9}$"))
