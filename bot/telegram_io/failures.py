"""Whether a failed Bot API call may have been performed, and which calls are safe to repeat.

A call that got no answer falls in one of two classes. *Not sent*: Telegram cannot have
performed it (the connection was refused, the name did not resolve, the body never went out
in full, or Telegram answered with an error). *Unknown*: the whole request went out and the
answer was lost (a read timeout while Telegram stores a 50 MB upload is the everyday case), so
Telegram may have performed it. Not-sent calls are retried; unknown ones only when repeating
them cannot do anything twice (an edit, a delete, a read). A message or a file sent twice is
a second copy in the user's chat, so sends are never repeated on an unknown failure.
"""

from __future__ import annotations

from enum import StrEnum

import httpx
from telegram.error import NetworkError


class Sent(StrEnum):
    """What a failed call may have done at Telegram's end."""

    NO = "not_sent"  # Telegram did not perform it: safe to send again
    UNKNOWN = "unknown"  # the request went out and the answer was lost: it may have been done


# Calls that may be repeated after an unknown failure: a second one changes nothing more
# (an edit to the same text answers "not modified", a second delete "not found").
IDEMPOTENT_METHODS = frozenset(
    name.lower()
    for name in (
        "getUpdates",
        "getMe",
        "getWebhookInfo",
        "deleteWebhook",
        "getChat",
        "getChatMember",
        "getFile",
        "getMyCommands",
        "setMyCommands",
        "deleteMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "setChatMenuButton",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "deleteMessage",
        "answerCallbackQuery",
        "sendChatAction",  # "typing…" shown twice is still "typing…"
    )
)

# httpx failures that happen before the request is complete at the other end: the
# connection never opened, or the body was still being written when it broke.
_NOT_SENT_ERRORS: tuple[type[httpx.HTTPError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
# A gateway that timed out waiting for Telegram: Telegram may have done the work meanwhile.
_GATEWAY_TIMEOUT = 504


class AnswerLostError(NetworkError):
    """A call that may have been performed lost its answer, and was not repeated."""

    def __init__(self, method: str, detail: str) -> None:
        super().__init__(f"{method}: the answer was lost ({detail}); not repeated")
        self.method = method


class TooLargeError(NetworkError):
    """Telegram refused the request as too large (HTTP 413): a file over the upload limit."""


def idempotent(method: str) -> bool:
    """Whether `method` may be repeated when it is unknown whether it was performed."""
    return method.lower() in IDEMPOTENT_METHODS


def sent_of_error(exc: BaseException) -> Sent:
    """Classify an exception raised instead of an answer (httpx's, or PTB's wrapping it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _NOT_SENT_ERRORS):
            return Sent.NO
        if isinstance(current, httpx.HTTPError):
            return Sent.UNKNOWN
        current = current.__cause__ or current.__context__
    return Sent.UNKNOWN  # nothing says it did not go out: assume it may have


def sent_of_status(status: int, body: bytes) -> Sent:
    """Classify an error answer: Telegram's own (it says what it did not do) or a gateway's."""
    if status < 500:
        return Sent.NO  # 4xx and 429: Telegram refused the call
    if status == _GATEWAY_TIMEOUT or not body.strip():
        return Sent.UNKNOWN
    return Sent.NO  # a 5xx with a body: the server answered, it did not perform the call
