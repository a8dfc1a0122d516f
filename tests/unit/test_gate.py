"""The gate fails closed: an update it cannot judge, or whose refusal fails, is stopped."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import cast

import pytest
from telegram import Chat, Message, Update, User
from telegram.ext import ApplicationHandlerStop

from bot.handlers.context import BotContext
from bot.handlers.gate import Refusal, _say, gate


class _BrokenStore:
    """A context whose database fails on the visit, as a locked or corrupt SQLite would."""

    async def visitor(self, user: User) -> object:
        raise sqlite3.OperationalError(f"database is locked (user {user.id})")


def _message(text: str) -> Update:
    user = User(5, "U", is_bot=False)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return Update(1, message=Message(1, when, Chat(5, Chat.PRIVATE), from_user=user, text=text))


async def test_an_update_the_gate_cannot_judge_reaches_no_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ApplicationHandlerStop):
        await gate(_message("https://example.com/a.mp4"), cast(BotContext, _BrokenStore()))
    assert "gate_failed" in caplog.text
    assert "database is locked" in caplog.text  # the traceback is in the log


async def test_a_refusal_whose_reply_fails_is_logged_and_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def reply() -> None:
        raise RuntimeError("Telegram said 500")

    await _say(Refusal("banned", reply))
    assert "refusal_unsent why=banned" in caplog.text
