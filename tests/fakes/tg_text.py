"""Telegram's text rules: HTML parse mode, trimming, UTF-16 lengths, entities of incoming text."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.fakes.errors import ApiError

HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)?([^<>]*)>")
_URL = re.compile(r"https?://[^\s<>\"']+")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def render(text: str, parse_mode: object) -> str:
    """The text a user sees: HTML tags removed and entities unescaped, then trimmed."""
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        text = _strip_html(text)
    return text.strip()


def _fail(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {reason}")


def _strip_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        out.append(html.unescape(text[pos:start]))
        offset = len(text[:start].encode())
        match = _TAG.match(text, start)
        if match is None or match.group(2) is None:
            raise _fail(f"Unclosed start tag at byte offset {offset}")
        closing, name = match.group(1) == "/", match.group(2).lower()
        if closing:
            if not stack or stack[-1] != name:
                expected = f'"</{stack[-1]}>"' if stack else "nothing"
                raise _fail(
                    f"Unmatched end tag at byte offset {offset}, expected {expected}, "
                    f'found "</{name}>"'
                )
            stack.pop()
        elif name not in HTML_TAGS:
            raise _fail(f'Unsupported start tag "{name}" at byte offset {offset}')
        else:
            stack.append(name)
        pos = match.end()
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    out.append(html.unescape(text[pos:]))
    return "".join(out)


def incoming_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram attaches to a user's text: a leading bot command and URLs."""
    entities: list[dict[str, Any]] = []
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        start = utf16_len(text[: match.start()])
        entities.append({"type": "url", "offset": start, "length": utf16_len(url)})
    return entities
