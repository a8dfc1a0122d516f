"""Small helpers shared by handlers."""

from __future__ import annotations

import logging

from telegram import CallbackQuery
from telegram.error import BadRequest, Forbidden

log = logging.getLogger(__name__)


async def answer(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; an expired or unknown query is logged, never an error."""
    try:
        await query.answer(text)
    except (BadRequest, Forbidden) as exc:
        log.info("callback_answer_refused query=%s error=%s", query.id, exc.message)
