"""The admins' command menu: the users' commands plus the admin ones, set per admin chat."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import Translator
from bot.texts import ADMIN_COMMANDS, USER_COMMANDS

log = logging.getLogger(__name__)


async def set_admin_commands(
    bot: Bot, admin_ids: Iterable[int], translator_of: Callable[[int], Awaitable[Translator]]
) -> None:
    """An admin who never opened the chat cannot get a menu yet (400): logged, not fatal."""
    for admin in sorted(admin_ids):
        tr = await translator_of(admin)
        commands = [BotCommand(name, tr(desc)) for name, desc in (*USER_COMMANDS, *ADMIN_COMMANDS)]
        try:
            await bot.set_my_commands(commands, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:
            log.warning("set_admin_commands_failed admin=%d error=%s", admin, exc.message)
