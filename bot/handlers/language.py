"""/language: the user picks the bot's language, or lets Telegram's language_code decide. The
same view is /settings' Language button, and leads back to the other settings."""

from __future__ import annotations

import logging

from babel import Locale
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.handlers import errors
from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.i18n import N_, I18n, Translator

log = logging.getLogger(__name__)

AUTO = "auto"
TO_SETTINGS = N_("⚙️ Settings")


def language_name(language: str) -> str:
    """A language's name in that language: "English", "فارسی"."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def keyboard(i18n: I18n, tr: Translator, override: str | None) -> InlineKeyboardMarkup:
    """One button per language (named in itself), then Automatic; the current one is ticked."""

    def button(label: str, choice: str, current: bool) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            f"✓ {label}" if current else label, callback_data=f"lang:{choice}"
        )

    chosen = i18n.normalize(override)
    row = [button(language_name(lang), lang, lang == chosen) for lang in i18n.languages]
    return InlineKeyboardMarkup(
        [row, [button(tr("🌐 Automatic"), AUTO, chosen is None)], [settings_button(tr)]]
    )


def settings_button(tr: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(tr(TO_SETTINGS), callback_data="set:show")


def language_view(
    i18n: I18n, tr: Translator, override: str | None
) -> tuple[str, InlineKeyboardMarkup]:
    """What /language shows, and /settings' Language button: the language, and the choice."""
    name = language_name(tr.language)
    if i18n.normalize(override):
        text = tr("🌐 Language: {language}.\nChoose a language:", language=name)
    else:
        text = tr(
            "🌐 Language: {language} (automatic, from your Telegram settings).\n"
            "Choose a language:",
            language=name,
        )
    return text, keyboard(i18n, tr, override)


async def language_command(update: Update, ctx: BotContext) -> None:
    if update.effective_user is None or update.effective_message is None:
        return
    record, tr = await ctx.visitor(update.effective_user)
    text, keys = language_view(ctx.services.i18n, tr, record.language_override)
    await update.effective_message.reply_text(text, reply_markup=keys)


async def language_button(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    i18n = ctx.services.i18n
    choice = query.data.split(":", 1)[1]
    override = None if choice == AUTO else i18n.normalize(choice)
    if choice != AUTO and override is None:  # a language this bot does not (or no longer) speak
        await errors.unknown_callback(update, ctx)
        return
    await ctx.visitor(user)  # the user's row must exist for the choice to be kept
    await ctx.services.users.set_language(user.id, override)
    log.info("language_set user=%d language=%s", user.id, override or AUTO)
    tr = i18n.get(override or user.language_code)
    name = language_name(tr.language)
    if override is None:
        text = tr(
            "✅ Language: automatic, from your Telegram settings ({language}).", language=name
        )
    else:
        text = tr("✅ From now on I'll speak {language} with you.", language=name)
    await answer(query)
    await _replace(query, text, InlineKeyboardMarkup([[settings_button(tr)]]))


async def _replace(query: CallbackQuery, text: str, keys: InlineKeyboardMarkup) -> None:
    """Turn the question into the answer; a question that can no longer be edited is left."""
    try:
        await query.edit_message_text(text, reply_markup=keys)
    except BadRequest as exc:
        log.info("language_edit_refused query=%s error=%s", query.id, exc.message)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("language", language_command))
    app.add_handler(CallbackQueryHandler(language_button, pattern=r"^lang:([a-z]{2,3}|auto)$"))
