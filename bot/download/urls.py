"""Reading a link out of a message, and the normalized form used as the cache key."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|yclid|mc_eid|igshid|si)$", re.IGNORECASE)


def extract_url(text: str) -> str | None:
    """The message's URL when the message is one http(s) URL (surrounding spaces allowed)."""
    candidate = text.strip()
    if not candidate or any(c.isspace() for c in candidate) or len(candidate) > MAX_URL_LENGTH:
        return None
    parts = urlsplit(candidate)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    try:
        _ = parts.port
    except ValueError:
        return None
    return candidate


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
