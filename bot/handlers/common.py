"""Small helpers shared by handlers."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.telegram_io.ui import NO_PREVIEW

log = logging.getLogger(__name__)


async def answer(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; an expired or unknown query is logged, never an error."""
    try:
        await query.answer(text)
    except (BadRequest, Forbidden) as exc:
        log.info("callback_answer_refused query=%s error=%s", query.id, exc.message)


async def edit_html(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the pressed message's HTML; pressing the same button twice is not an error."""
    try:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
