"""The expiry Sender over PTB's Bot: one HTML message; Telegram's refusal becomes SendError.

Notices go out between answers and status (telegram_io/outbound.py): a user's file or answer
is never kept waiting behind the daily round of notices, and a notice does not wait for the
bot to fall quiet as progress bars do (at status priority, a steady 5 answers a second held
the daily job on its first notice for as long as they lasted).
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.daily.expiry import SendError
from bot.telegram_io.failures import AnswerLostError
from bot.telegram_io.lanes import Lanes, Priority
from bot.telegram_io.ui import NO_PREVIEW

log = logging.getLogger(__name__)


class TelegramSender:
    def __init__(self, bot: Bot, lanes: Lanes) -> None:
        self._bot = bot
        self._lanes = lanes

    async def send(self, chat_id: int, text: str) -> None:
        try:
            await self._lanes.call(
                chat_id,
                Priority.NOTICE,
                lambda: self._bot.send_message(
                    chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                ),
            )
        except AnswerLostError:
            # Most likely delivered: counted as sent, so the notice is not repeated tomorrow.
            log.warning("notice_unconfirmed chat=%d", chat_id)
        except TelegramError as exc:  # 403 blocked, 400 chat not found, or retries ran out
            raise SendError(exc.message) from exc
