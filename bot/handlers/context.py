"""The custom CallbackContext: typed access to the services instead of bot_data strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    from telegram import User

    from bot.handlers.message_links import IncomingLinks
    from bot.handlers.services import Services
    from bot.i18n import Translator
    from bot.store.users import UserRecord


@dataclass
class BotData:
    """PTB's bot_data, holding the one Services object set up in app.py."""

    services: Services | None = field(default=None)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """What every handler receives (one per update, shared by the handlers of every group)."""

    _visitor: tuple[UserRecord, Translator] | None = None
    # A message's links and how many the rate limit lets through: set by the gate.
    links: IncomingLinks | None = None

    async def visitor(self, user: User) -> tuple[UserRecord, Translator]:
        """The user's record and translator; the visit is recorded once per update, by the
        first to ask (the gate), and the handlers after it get the same."""
        known = self._visitor
        if known is None or known[0].user_id != user.id:
            known = await self.services.seen(user)
            self._visitor = known
        return known

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are not set up yet")
        return services


# The Application as this bot builds it: our context and bot_data types.
TgApp = Application[Any, BotContext, Any, Any, BotData, Any]
