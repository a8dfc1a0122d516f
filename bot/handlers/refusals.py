"""One text per rule a user runs into, the same wherever the rule is applied: who may use the
bot, what it understands, and why a link was not taken (the per-user limit, a full queue, a
restart, the job queue away, the rate limit)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.access.rules import Verdict
from bot.i18n import N_, N_plural, Translator

ACCESS_DENIED = N_("⛔ Sorry, this bot is not available to you.")
# ALLOWED_USERS is set and does not list the user: they can ask the operator, with their id.
NOT_LISTED = N_(
    "⛔ Sorry, this bot is not available to you. It is private: its operator can let you in"
    " with your user id, {id}."
)
NO_LINK = N_(
    "🔗 I found no link in your message. Send me a link (http:// or https://), on its own or"
    " inside any text, and I'll fetch the file."
)
UNKNOWN_COMMAND = N_("❓ I don't know that command. /help lists what I can do.")

_USER_LIMIT = N_plural(
    "⏳ You already have {n} download going. Wait for it to finish or /cancel it.",
    "⏳ You already have {n} downloads going. Wait for one to finish or /cancel it.",
)
_QUEUE_FULL = N_("🚦 The bot is very busy right now. Please try again in a few minutes.")
_STOPPING = N_plural(
    "🔄 The bot is restarting. Please send the link again in a minute.",
    "🔄 The bot is restarting. Please send the links again in a minute.",
)
# QUEUE_URL is set and Redis does not answer: nothing was queued, and nothing is lost by asking.
_UNAVAILABLE = N_plural(
    "🔌 Downloads are unavailable for a moment. Please send the link again in a minute.",
    "🔌 Downloads are unavailable for a moment. Please send the links again in a minute.",
)
_RATE = N_plural(
    "🐢 Slow down: up to {n} link a minute.", "🐢 Slow down: up to {n} links a minute."
)
_RETRY = N_plural("Try again in {n} second.", "Try again in {n} seconds.")


class NotTaken(StrEnum):
    """Why a link did not start a download."""

    USER_LIMIT = "user_limit"  # MAX_JOBS_PER_USER downloads already going
    QUEUE_FULL = "queue_full"  # MAX_QUEUED_JOBS waiting
    STOPPING = "stopping"  # the bot is shutting down
    UNAVAILABLE = "unavailable"  # the job queue (QUEUE_URL) cannot be reached
    RATE_LIMIT = "rate_limit"  # RATE_LIMIT_PER_MINUTE reached


@dataclass(frozen=True, slots=True)
class LinkRules:
    """The numbers the refusals name."""

    per_user: int
    per_minute: int
    retry_in: int  # seconds until the rate limit lets a link through


def access_text(tr: Translator, verdict: Verdict, user_id: int) -> str:
    """The refusal of a user who may not use the bot: for every command, link and button."""
    if verdict is Verdict.NOT_ALLOWED:
        return tr(NOT_LISTED, id=tr.ltr(str(user_id)))
    return tr(ACCESS_DENIED)


def not_taken_text(tr: Translator, why: NotTaken, rules: LinkRules, links: int = 1) -> str:
    """Why `links` links (of one message) were not taken, and what the user can do."""
    if why is NotTaken.USER_LIMIT:
        return tr.plural(_USER_LIMIT, rules.per_user)
    if why is NotTaken.QUEUE_FULL:
        return tr(_QUEUE_FULL)
    if why is NotTaken.STOPPING:
        return tr.plural(_STOPPING, links)
    if why is NotTaken.UNAVAILABLE:
        return tr.plural(_UNAVAILABLE, links)
    return f"{tr.plural(_RATE, rules.per_minute)} {tr.plural(_RETRY, max(1, rules.retry_in))}"
