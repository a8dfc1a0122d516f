"""What went wrong in a daily run, as the admins' report says it: which part, and why, in
their language. The error's own words go to the log only (daily_job_step_failed,
admin_unreachable), where the traceback is too."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from telegram.error import NetworkError, TelegramError

from bot.i18n import N_, Translator
from bot.model.failures import is_disk_full


class Cause(StrEnum):
    BLOCKED = "blocked"  # the admin blocked the bot
    NO_CHAT = "no_chat"  # the admin never opened a chat with the bot
    REFUSED = "refused"  # Telegram refused the message for another reason
    TELEGRAM = "telegram"  # Telegram could not be reached
    DISK_FULL = "disk_full"
    DATABASE = "database"
    FILES = "files"  # reading or removing a file failed
    UNEXPECTED = "unexpected"


_TEXTS: dict[Cause, str] = {
    Cause.BLOCKED: N_("the admin blocked the bot"),
    Cause.NO_CHAT: N_("the admin has not opened a chat with the bot yet"),
    Cause.REFUSED: N_("Telegram refused the message"),
    Cause.TELEGRAM: N_("Telegram could not be reached"),
    Cause.DISK_FULL: N_("the server is out of disk space"),
    Cause.DATABASE: N_("the database failed"),
    Cause.FILES: N_("a file could not be read or removed"),
    Cause.UNEXPECTED: N_("an unexpected error (the details are in the log)"),
}


def refusal_cause(message: str) -> Cause:
    """Why Telegram did not deliver a message to an admin, from its description."""
    lower = message.lower()
    if "blocked" in lower or "deactivated" in lower:
        return Cause.BLOCKED
    if "chat not found" in lower or "user not found" in lower:
        return Cause.NO_CHAT
    return Cause.REFUSED


def cause_of(exc: BaseException) -> Cause:
    if is_disk_full(exc):
        return Cause.DISK_FULL
    if isinstance(exc, sqlite3.Error):
        return Cause.DATABASE
    if isinstance(exc, NetworkError):
        return Cause.TELEGRAM
    if isinstance(exc, TelegramError):
        return refusal_cause(exc.message)
    if isinstance(exc, OSError):
        return Cause.FILES
    return Cause.UNEXPECTED


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that went wrong in a run: which part (a msgid) and why."""

    what: str
    cause: Cause
    admin: int | None = None

    def render(self, tr: Translator) -> str:
        what = tr(self.what, admin=self.admin) if self.admin is not None else tr(self.what)
        return tr("{what}: {error}", what=what, error=tr(_TEXTS[self.cause]))
