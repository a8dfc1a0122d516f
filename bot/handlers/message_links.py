"""The links a user's message carries: in its text or caption, marked by Telegram or not,
forwarded or not; and how many of them the rate limit lets through (decided by the gate)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Message, MessageEntity

from bot.download.urls import Marked, find_urls

_LINKS = (MessageEntity.URL, MessageEntity.TEXT_LINK)


@dataclass(frozen=True, slots=True)
class IncomingLinks:
    """A message's links, split by the rate limit: the first `within` may start downloads."""

    urls: tuple[str, ...]
    within: int
    retry_in: int = 0  # seconds until the rate limit lets another link through

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.urls[: self.within]

    @property
    def over_rate(self) -> tuple[str, ...]:
        return self.urls[self.within :]


def is_command(message: Message) -> bool:
    """A command, as PTB's CommandHandler sees one: a bot_command entity at the start."""
    first = message.entities[0] if message.entities else None
    return first is not None and first.type == MessageEntity.BOT_COMMAND and first.offset == 0


def links_of(message: Message) -> list[str]:
    """Every link of the message (its text, or a media's caption), in order, each once."""
    if message.text is not None:
        text, found = message.text, message.parse_entities(list(_LINKS))
    else:
        text, found = message.caption or "", message.parse_caption_entities(list(_LINKS))
    marked = [
        Marked(e.offset, e.length, shown if e.type == MessageEntity.URL else e.url or "")
        for e, shown in found.items()
    ]
    return find_urls(text, marked)
