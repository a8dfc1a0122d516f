"""/settings: what a user keeps for every link, in SQLite: the format of video pages (asked each
time, or a default that means no question), videos as videos or as files, the language (the
same view /language opens), and the note that a page had more videos than the one sent."""

from __future__ import annotations

import html
import logging
from dataclasses import replace

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.handlers.common import answer, edit_html
from bot.handlers.context import BotContext
from bot.handlers.language import language_name, language_view
from bot.i18n import N_, Translator
from bot.model.job import FormatChoice
from bot.store.users import UserRecord, UserSettings

log = logging.getLogger(__name__)

BUTTONS = r"^set:(show|lang|fmt:(ask|best|small|audio)|vid:(video|file)|note:(on|off))$"
ASK = "ask"
FORMATS: dict[str, str] = {  # the value a button sets, and what it is called
    ASK: N_("ask each time"),
    FormatChoice.BEST.value: N_("best video"),
    FormatChoice.SMALL.value: N_("smaller video (480p at most)"),
    FormatChoice.AUDIO.value: N_("audio only"),
}
FORMAT_BUTTONS = (
    (ASK, N_("❓ Ask")),
    (FormatChoice.BEST.value, N_("🎬 Best")),
    (FormatChoice.SMALL.value, N_("📱 ≤480p")),
    (FormatChoice.AUDIO.value, N_("🎵 Audio")),
)


def settings_text(tr: Translator, settings: UserSettings, language: str) -> str:
    fmt = settings.default_format.value if settings.default_format is not None else ASK
    videos = tr("as files (documents)") if settings.video_as_file else tr("as videos")
    note = tr("on") if settings.more_note else tr("off")
    lines = [
        tr("⚙️ <b>Your settings</b>"),
        "",
        tr("<b>Video pages:</b> {format}", format=html.escape(tr(FORMATS[fmt]))),
        tr(
            "<i>With a default I don't ask: the progress message still offers the other"
            " formats for that one link.</i>"
        ),
        tr("<b>Videos arrive:</b> {how}", how=html.escape(videos)),
        tr("<b>Language:</b> {language}", language=html.escape(language_name(language))),
        tr("<b>“Only the first video was sent” note:</b> {state}", state=note),
    ]
    return "\n".join(lines)


def settings_keyboard(tr: Translator, settings: UserSettings) -> InlineKeyboardMarkup:
    def button(label: str, data: str, current: bool = False) -> InlineKeyboardButton:
        return InlineKeyboardButton(f"✓ {label}" if current else label, callback_data=data)

    fmt = settings.default_format.value if settings.default_format is not None else ASK
    as_file, note = settings.video_as_file, settings.more_note
    return InlineKeyboardMarkup(
        [
            [
                button(tr(label), f"set:fmt:{value}", value == fmt)
                for value, label in FORMAT_BUTTONS
            ],
            [
                button(tr("🎬 As videos"), "set:vid:video", not as_file),
                button(tr("📄 As files"), "set:vid:file", as_file),
            ],
            [
                button(tr("ℹ️ Note on"), "set:note:on", note),
                button(tr("Note off"), "set:note:off", not note),
            ],
            [button(tr("🌐 Language"), "set:lang")],
        ]
    )


async def settings_command(update: Update, ctx: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    record, tr = await ctx.visitor(user)
    await message.reply_text(
        settings_text(tr, record.settings, tr.language),
        parse_mode=ParseMode.HTML,
        reply_markup=settings_keyboard(tr, record.settings),
    )


async def settings_button(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    record, tr = await ctx.visitor(user)
    what, _, value = query.data.removeprefix("set:").partition(":")
    if what == "lang":
        text, keys = language_view(ctx.services.i18n, tr, record.language_override)
        await answer(query)
        await edit_html(query, html.escape(text), keys)
        return
    settings = _changed(record.settings, what, value)
    if settings != record.settings:
        await ctx.services.users.save_settings(user.id, settings)
        log.info("settings_set user=%d %s=%s", user.id, what, value)
    await answer(query)
    await show(query, tr, replace(record, settings=settings))


async def show(query: CallbackQuery, tr: Translator, record: UserRecord) -> None:
    """Turn the pressed message into the settings view."""
    text = settings_text(tr, record.settings, tr.language)
    await edit_html(query, text, settings_keyboard(tr, record.settings))


def _changed(settings: UserSettings, what: str, value: str) -> UserSettings:
    if what == "fmt":
        return replace(settings, default_format=None if value == ASK else FormatChoice(value))
    if what == "vid":
        return replace(settings, video_as_file=value == "file")
    if what == "note":
        return replace(settings, more_note=value == "on")
    return settings  # "show": the view again


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("settings", settings_command))
    app.add_handler(CallbackQueryHandler(settings_button, pattern=BUTTONS))
