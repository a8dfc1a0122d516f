"""The links a user's message carries: in its text or caption, marked by Telegram or not,
forwarded or not; and how many of them the rate limit lets through (decided by the gate)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Message, MessageEntity

from bot.download.urls import Marked, find_urls

_LINKS = (MessageEntity.URL, MessageEntity.TEXT_LINK)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_PUNCTUATION = re.compile(r"[^\w\u200c]+")
# The word itself, in the languages of the catalogs (Persian: "پی‌دی‌اف", with or without its
# zero-width joiners), and the small words around it ("as pdf", "به pdf").
PDF_WORDS = frozenset({"pdf", "پی\u200cدی\u200cاف", "پی دی اف", "پیدیاف"})
_AS = frozenset({"as", "a", "to", "in", "به", "با"})


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


def asks_for_pdf(message: Message) -> bool:
    """Whether the message is links and the word "pdf" alone beside them ("pdf <link>",
    "<link> as PDF"): the pages, printed. A longer text that mentions a PDF, or a link that
    ends in .pdf (a file to download), is not."""
    text = message.text or message.caption or ""
    entities = (
        message.parse_entities(list(_LINKS))
        if message.text is not None
        else (message.parse_caption_entities(list(_LINKS)))
    )
    for shown in entities.values():
        text = text.replace(shown, " ")
    words = _PUNCTUATION.sub(" ", _URL.sub(" ", text).lower()).split()
    return bool(entities or _URL.search(message.text or message.caption or "")) and (
        " ".join(w for w in words if w not in _AS) in PDF_WORDS
    )


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


def command_links(message: Message) -> tuple[list[str], Message]:
    """The links a command asks for (/dl, /pdf) and the message that holds them: its own
    text, else the message it replies to (whose links are then answered there)."""
    own = links_of(message)
    replied = message.reply_to_message
    if own or replied is None:
        return own, message
    return links_of(replied), replied


def thread_of(message: Message) -> int | None:
    """The forum topic a message is in (replies in a group that has no topics also carry a
    thread id, which is not a topic: none)."""
    return message.message_thread_id if message.is_topic_message else None
