"""Titles and credits from a page's metadata, for captions, file names and audio tags.

yt-dlp fills in placeholders where a page names nothing: the manifest's file name ("master",
"index", "manifest"), a number per video of a page ("My cat plays piano (1)"), a part marker
("[page-1]"). Those never reach the user: the artefact is cut off, and a title that is only a
placeholder gives way to the page's own title or, failing that, the URL's last meaningful
segment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.i18n.formats import clean_text

MAX_CHARS = 256
# The file names of manifests and players, which yt-dlp's generic extractor takes for titles.
PLACEHOLDERS = frozenset(
    {
        *("master", "index", "manifest", "playlist", "chunklist", "prog_index", "main"),
        *("media", "video", "videos", "audio", "stream", "streams", "live", "source", "default"),
        *("output", "file", "download", "embed", "player", "play", "watch", "hls", "dash"),
        *("init", "videoplayback", "untitled", "mpd", "m3u8", "static", "assets", "files"),
        *("uploads", "content", "public", "cdn", "vod"),
    }
)
# A numbering yt-dlp adds at the end: "(1)", "[page-1]", "[part 2]", "[p3]".
_ARTEFACT = re.compile(r"\s*(?:\(\d{1,3}\)|\[(?:page|part|p)[\s_-]?\d{1,4}\])\s*$", re.IGNORECASE)
# Segments that name nothing: numbers, resolutions, versions, hashes and UUIDs.
_MEANINGLESS = re.compile(
    r"^(?:\d+|\d{3,4}p|\d+x\d+|v\d+|[0-9a-f]{16,}|"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def is_placeholder(title: str) -> bool:
    """Whether `title` names nothing (a manifest's name, a number, a hash)."""
    word = title.strip().lower()
    return not word or word in PLACEHOLDERS or bool(_MEANINGLESS.match(word))


def tidy(title: object) -> str | None:
    """A title without control characters and yt-dlp's numbering; None if nothing is left."""
    if not isinstance(title, str):
        return None
    text = clean_text(title)
    while (cut := _ARTEFACT.sub("", text)) != text:
        text = cut
    text = text.strip()
    return text[:MAX_CHARS] or None


def best_title(candidates: Iterable[object], url: str) -> str:
    """The first candidate that names something, else the URL's last meaningful segment."""
    for candidate in candidates:
        title = tidy(candidate)
        if title is not None and not is_placeholder(title):
            return title
    return url_title(url)


def url_title(url: str) -> str:
    """The URL's last path segment that names something (without its extension), else its
    host: `https://cdn.example.com/trips/sea-2024/hls/master.m3u8` gives "sea-2024"."""
    parts = urlsplit(url)
    for segment in reversed([s for s in parts.path.split("/") if s]):
        name = tidy(_EXTENSION.sub("", unquote(segment)))
        if name is not None and not is_placeholder(name):
            return name
    host = (parts.hostname or "").removeprefix("www.")
    return host or "download"


def page_title(info: dict[str, Any], url: str) -> str:
    """The title of a yt-dlp entry: its own, or its page's (a page of several videos), or the
    URL's."""
    return best_title((info.get("title"), info.get("playlist_title")), url)


def track_title(info: dict[str, Any]) -> str | None:
    """The song's own name, where the page gives one (yt-dlp's `track`)."""
    title = tidy(info.get("track"))
    return None if title is None or is_placeholder(title) else title


def performer(info: dict[str, Any]) -> str | None:
    """Who made it: the artists, the creators, else the uploader or channel."""
    for key in ("artists", "creators"):
        names = info.get(key)
        if isinstance(names, list) and (name := tidy(", ".join(map(str, names)))):
            return name
    for key in ("artist", "creator", "uploader", "channel"):
        if name := tidy(info.get(key)):
            return name
    return None


def picture(info: dict[str, Any]) -> str | None:
    """The page's picture (its og:image, a video's thumbnail), as an http(s) URL."""
    candidates = [info.get("thumbnail")]
    thumbnails = info.get("thumbnails")
    if isinstance(thumbnails, list):
        candidates += [t.get("url") for t in reversed(thumbnails) if isinstance(t, dict)]
    for url in candidates:
        if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
            return url
    return None
