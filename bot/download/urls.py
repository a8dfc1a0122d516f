"""Reading the links out of a message, and the normalized form used as the cache key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|yclid|mc_eid|igshid|si)$", re.IGNORECASE)
# An http(s) URL anywhere in a text: up to the first space, quote or angle bracket.
_IN_TEXT = re.compile(r"https?://[^\s<>\"'«»]+", re.IGNORECASE)
# Sentence punctuation after a URL (Latin and Persian) belongs to the sentence, not the URL.
_TRAILING = ".,;:!?'\"»،؛؟…"
_CLOSERS = {")": "(", "]": "["}


@dataclass(frozen=True, slots=True)
class Marked:
    """A link Telegram marked in a message (a `url` or `text_link` entity).

    `offset` and `length` are Telegram's, in UTF-16 code units; `url` is the marked text for a
    `url` entity and the target for a `text_link`.
    """

    offset: int
    length: int
    url: str


def find_urls(text: str, marked: Sequence[Marked] = ()) -> list[str]:
    """Every http(s) link of a message, in the order they appear, each once.

    Telegram's own entities are taken first (they know where a URL ends, and a text link's
    target is not in the text at all); http(s) URLs in the rest of the text are found too.
    """
    found = [(m.offset, m.url) for m in marked]
    spans = [(m.offset, m.offset + m.length) for m in marked]
    position, units = 0, 0  # a Python index and the UTF-16 units before it
    for match in _IN_TEXT.finditer(text):
        units += _utf16_len(text[position : match.start()])
        position = match.start()
        candidate = _trim(match.group(0))
        start, end = units, units + _utf16_len(candidate)
        if not any(start < b and a < end for a, b in spans):
            found.append((start, candidate))
    found.sort(key=lambda item: item[0])
    urls: list[str] = []
    keys: set[str] = set()
    for _, raw in found:
        url = usable_url(raw)
        if url is not None and (key := normalize_url(url)) not in keys:
            keys.add(key)
            urls.append(url)
    return urls


def usable_url(raw: str) -> str | None:
    """`raw` as a link the bot can fetch, or None.

    Telegram also marks addresses written without a scheme ("youtu.be/abc"): those with a
    path are taken as https. A bare name ("readme.md") is more often a word than a link.
    """
    candidate = raw.strip()
    if "://" not in candidate:
        host, slash, _ = candidate.partition("/")
        if not slash or "." not in host or "@" in host:
            return None
        candidate = "https://" + candidate
    if len(candidate) > MAX_URL_LENGTH or any(c.isspace() for c in candidate):
        return None
    parts = urlsplit(candidate)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    try:
        _ = parts.port
    except ValueError:
        return None
    return candidate


def _trim(url: str) -> str:
    """A URL found in running text without the punctuation that ends its sentence; a closing
    bracket stays when the URL opened it (Wikipedia's "Foo_(bar)")."""
    while url and (url[-1] in _TRAILING or _unopened(url)):
        url = url[:-1]
    return url


def _unopened(url: str) -> bool:
    last = url[-1]
    return last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def normalize_url(url: str) -> str:
    """Same resource, same key: lowercase host, no default port, fragment or tracking params."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    )
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))
