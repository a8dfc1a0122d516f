"""The commands: the users', the groups' and the admins' (these tables also decide which are
admin-only and which a group may use), and the menus that list them, one per language (for
private chats and for groups) and one per admin chat."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import DEFAULT_LANGUAGE, N_, I18n, Translator

log = logging.getLogger(__name__)

USER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("What this bot does")),
    ("help", N_("How to use it")),
    ("pdf", N_("Save a web page as a PDF: /pdf LINK")),
    ("cancel", N_("Stop your downloads")),
    ("history", N_("Your recent links")),
    ("forget", N_("Erase your history")),
    ("settings", N_("Your settings: format, videos as files, language")),
    ("language", N_("Choose the language")),
)

# What a group may ask (where GROUPS lets the bot work): the menu of every group.
GROUP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("dl", N_("Fetch a link here: /dl LINK, or reply /dl to a message with a link")),
    ("pdf", N_("Save a web page as a PDF: /pdf LINK")),
    ("cancel", N_("Stop your downloads")),
    ("autodl", N_("Group admins: fetch every link posted here (on or off)")),
    ("help", N_("How to use me in a group")),
)

# Shown, after the users' commands, only in admins' chats (BotCommandScopeChat).
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("admin", N_("Admin panel: statistics, users, settings")),
    ("check", N_("A user's link history: /check USER_ID")),
    ("expiring", N_("Links to be purged soon")),
    ("ban", N_("Ban a user: /ban USER_ID")),
    ("unban", N_("Unban a user: /unban USER_ID")),
)


def _menu(tr: Translator, entries: Iterable[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, tr(desc)) for name, desc in entries]


async def set_user_commands(bot: Bot, i18n: I18n, *, groups: bool = False) -> None:
    """One menu per catalog, for private chats and for groups; English is the default for
    every other language. `groups`: GROUPS is not off."""
    for code in i18n.languages:
        language = None if code == DEFAULT_LANGUAGE else code
        tr = i18n.get(code)
        try:
            await bot.set_my_commands(_menu(tr, USER_COMMANDS), language_code=language)
            if groups:
                scope = BotCommandScopeAllGroupChats()
                menu = _menu(tr, GROUP_COMMANDS)
                await bot.set_my_commands(menu, scope=scope, language_code=language)
        except TelegramError as exc:
            log.warning("set_commands_failed language=%s error=%r", code, exc)


async def set_admin_commands(
    bot: Bot, admin_ids: Iterable[int], translator_of: Callable[[int], Awaitable[Translator]]
) -> None:
    """An admin who never opened the chat cannot get a menu yet (400): logged, not fatal."""
    for admin in sorted(admin_ids):
        tr = await translator_of(admin)
        commands = _menu(tr, (*USER_COMMANDS, *ADMIN_COMMANDS))
        try:
            await bot.set_my_commands(commands, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:
            log.warning("set_admin_commands_failed admin=%d error=%s", admin, exc.message)
