"""The custom CallbackContext: typed access to the services instead of bot_data strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.services import Services


@dataclass
class BotData:
    """PTB's bot_data, holding the one Services object set up in app.py."""

    services: Services | None = field(default=None)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """What every handler receives."""

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are not set up yet")
        return services


# The Application as this bot builds it: our context and bot_data types.
TgApp = Application[Any, BotContext, Any, Any, BotData, Any]
