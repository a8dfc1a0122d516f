"""ChatUI over PTB's Bot: HTML messages with inline buttons; Telegram's refusals handled here.

A failure that a later try may mend (the network, retries ran out) raises NotSentError; a
chat that is gone is logged; a send whose answer was lost is logged and treated as sent,
because it most likely is. A 429 (RetryAfter) is raised as it is, for the outbound path the
call was made in (outbound.py) to pause the chat and give the call its turn again.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.telegram_io.chat import Buttons, NotSentError
from bot.telegram_io.failures import AnswerLostError

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


class TelegramChatUI:
    """Sends, edits and deletes; a chat that is gone or a message that vanished is not an error."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int | None:
        try:
            message = await self._bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(buttons),
                link_preview_options=NO_PREVIEW,
                reply_to_message_id=reply_to,
                allow_sending_without_reply=True,
                message_thread_id=thread_id,
            )
        except BadRequest as exc:
            # A forum topic refuses a reply to a message that is gone, whatever
            # allow_sending_without_reply says: the message goes into the topic without it.
            if reply_to is not None and "replied not found" in exc.message.lower():
                return await self.send(chat_id, text, buttons=buttons, thread_id=thread_id)
            log.warning("send_refused chat=%d error=%s", chat_id, exc.message)
            return None
        except Forbidden as exc:
            log.warning("send_refused chat=%d error=%s", chat_id, exc.message)
            return None
        except AnswerLostError:
            log.warning("send_unconfirmed chat=%d (most likely shown; its id is unknown)", chat_id)
            return None
        except RetryAfter:
            raise
        except TelegramError as exc:
            log.warning("send_failed chat=%d error=%r", chat_id, exc)
            raise NotSentError(str(exc)) from exc
        return message.message_id

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, buttons: Buttons | None = None
    ) -> bool:
        try:
            await self._bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(buttons),
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            log.info("edit_refused chat=%d message=%d error=%s", chat_id, message_id, exc.message)
            return False
        except Forbidden as exc:
            log.warning("edit_forbidden chat=%d error=%s", chat_id, exc.message)
            return True  # the chat is gone: sending a new message would fail the same way
        except RetryAfter:
            raise
        except TelegramError as exc:
            log.warning("edit_failed chat=%d error=%r", chat_id, exc)
            raise NotSentError(str(exc)) from exc
        return True

    async def delete(self, chat_id: int, message_id: int) -> None:
        try:
            await self._bot.delete_message(chat_id, message_id)
        except RetryAfter:
            raise
        except TelegramError as exc:
            log.info("delete_failed chat=%d message=%d error=%r", chat_id, message_id, exc)
