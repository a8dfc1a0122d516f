"""The command menus: the users' one per language, and the admins' one per admin chat."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import DEFAULT_LANGUAGE, I18n, Translator
from bot.texts import ADMIN_COMMANDS, USER_COMMANDS

log = logging.getLogger(__name__)


def _menu(tr: Translator, entries: Iterable[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, tr(desc)) for name, desc in entries]


async def set_user_commands(bot: Bot, i18n: I18n) -> None:
    """One menu per catalog; English is the default for every other language."""
    for code in i18n.languages:
        language = None if code == DEFAULT_LANGUAGE else code
        try:
            await bot.set_my_commands(_menu(i18n.get(code), USER_COMMANDS), language_code=language)
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
