"""What a failure's own words mean for the user: network and yt-dlp errors mapped to a reason.

The user is told the reason, in their language; the words themselves (English, from a library
or a site) stay in the error's detail, which only the log shows.
"""

from __future__ import annotations

import re

from bot.model.failures import FailureReason, FetchError

_HTTP_STATUS = re.compile(r"HTTP Error (\d{3})")

# Checked in order, on the lowercased message; the first rule with a matching phrase wins.
_NETWORK: tuple[tuple[FailureReason, tuple[str, ...]], ...] = (
    (FailureReason.DISK_FULL, ("no space left on device", "disk quota exceeded")),
    (
        FailureReason.DNS,
        (
            "name or service not known",
            "nodename nor servname",
            "name resolution",
            "no address associated",
            "getaddrinfo",
        ),
    ),
    (FailureReason.TLS, ("certificate", "[ssl", "ssl:", "sslerror", "tlsv1")),
    (FailureReason.TIMEOUT, ("timed out", "timeout")),
    (
        FailureReason.CONNECTION,
        (
            "connection refused",
            "connection reset",
            "all connection attempts failed",
            "no route to host",
            "network is unreachable",
            "host is unreachable",
        ),
    ),
    (
        FailureReason.CONNECTION_LOST,
        (
            "incompleteread",
            "incomplete read",
            "connection aborted",
            "connection broken",
            "broken pipe",
            "remote end closed",
            "server disconnected",
            "peer closed connection",
        ),
    ),
)

# What yt-dlp says about a page it reached.
_PAGE: tuple[tuple[FailureReason, tuple[str, ...]], ...] = (
    (
        FailureReason.LOGIN_REQUIRED,
        (
            "sign in",
            "log in",
            "login required",
            "logged-in",
            "private video",
            "this video is private",
            "registered users",
            "requires authentication",
            "members-only",
            "members only",
            "--cookies",
        ),
    ),
    (
        FailureReason.GEO_BLOCKED,
        ("your country", "your region", "geo restrict", "geo-restrict", "georestrict"),
    ),
    (FailureReason.UPCOMING, ("live event will begin", "premieres in", "will begin in")),
    (
        FailureReason.UNAVAILABLE,
        (
            "video unavailable",
            "is unavailable",
            "has been removed",
            "no longer available",
            "does not exist",
            "been terminated",
        ),
    ),
    (FailureReason.NO_MEDIA, ("unsupported url", "no video formats found", "no media found")),
    # The format selector asks for sizes within the limit: none fits.
    (FailureReason.TOO_LARGE, ("requested format is not available",)),
)


def network_reason(message: str) -> FailureReason | None:
    """The reason behind a connection's failure, from its message; None when unknown."""
    lower = message.lower()
    for reason, phrases in _NETWORK:
        if any(phrase in lower for phrase in phrases):
            return reason
    return None


def classify_message(text: str) -> FetchError:
    """yt-dlp's error message as a typed failure; the message itself is kept as the detail."""
    match = _HTTP_STATUS.search(text)
    if match:
        return FetchError(FailureReason.HTTP_STATUS, text, status=int(match.group(1)))
    lower = text.lower()
    for reason, phrases in _PAGE:
        if any(phrase in lower for phrase in phrases):
            return FetchError(reason, text)
    # yt-dlp's ffmpeg runs (a merge, an HLS fix-up) failed: past CHILD_MEMORY_MB, or bad media;
    # a full disk (network_reason) says more.
    processing = FailureReason.PROCESSING if "postprocessing:" in lower else None
    reason = network_reason(text) or processing or FailureReason.UNSUPPORTED
    return FetchError(reason, text[:500])
