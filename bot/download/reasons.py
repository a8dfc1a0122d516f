"""What a failure means for the user: yt-dlp's exceptions and network errors mapped to a reason.

yt-dlp's own types decide first (classify_exception): GeoRestrictedError, UnsupportedError,
the HTTP status of an HTTPError anywhere in the chain (429: rate limited), TLS and broken reads
from its TransportErrors. Where yt-dlp has no type for what a site said (an ExtractorError with
`expected` set: a private video, YouTube's bot check, "Requested format is not available"),
its words decide. The user is told the reason, in their language; the words themselves
(English, from a library or a site) stay in the error's detail, which only the log shows.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator

from bot.model.failures import FailureReason, FetchError, is_disk_full

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

# What yt-dlp says about a page it reached (ExtractorError's words: it has no type for these).
_PAGE: tuple[tuple[FailureReason, tuple[str, ...]], ...] = (
    # YouTube's "Sign in to confirm you're not a bot" (before the sign-in phrases below), and
    # its captcha; both pass with time, a PO-token provider or fresh cookies.
    (
        FailureReason.BOT_CHECK,
        ("not a bot", "captcha challenge"),
    ),
    (
        FailureReason.RATE_LIMITED,
        ("rate-limited", "rate limited", "too many requests", "try again later"),
    ),
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
    # None of the formats asked for is on the page (formats gone missing: expired cookies, no
    # JavaScript runtime); the fetcher tells it from "none fits the size limit".
    (FailureReason.FORMAT_UNAVAILABLE, ("requested format is not available",)),
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
        status = int(match.group(1))
        reason = FailureReason.RATE_LIMITED if status == 429 else FailureReason.HTTP_STATUS
        return FetchError(reason, text, status=status)
    lower = text.lower()
    for reason, phrases in _PAGE:
        if any(phrase in lower for phrase in phrases):
            return FetchError(reason, text)
    # yt-dlp's ffmpeg runs (a merge, an HLS fix-up) failed: past CHILD_MEMORY_MB, or bad media;
    # a full disk (network_reason) says more.
    processing = FailureReason.PROCESSING if "postprocessing:" in lower else None
    reason = network_reason(text) or processing or FailureReason.UNSUPPORTED
    return FetchError(reason, text[:500])


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything behind it: causes, contexts, and the exc_info yt-dlp keeps."""
    queue: deque[BaseException] = deque([exc])
    seen: set[int] = set()
    while queue:
        current = queue.popleft()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        links = (
            getattr(current, "cause", None),
            exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None,
            current.__cause__,
            current.__context__,
        )
        queue.extend(link for link in links if isinstance(link, BaseException))


def classify_exception(exc: BaseException) -> FetchError:
    """A yt-dlp exception (DownloadError, ExtractorError, a networking error) as a failure, from
    its types and fields first; its message is kept as the detail."""
    from yt_dlp.networking import exceptions as net
    from yt_dlp.utils import (
        ExtractorError,
        GeoRestrictedError,
        PostProcessingError,
        UnsupportedError,
        UserNotLive,
    )

    detail = _detail(exc)
    chain = list(_chain(exc))
    if is_disk_full(exc):
        return FetchError(FailureReason.DISK_FULL, detail)
    for link in chain:
        if isinstance(link, GeoRestrictedError):
            return FetchError(FailureReason.GEO_BLOCKED, detail)
        if isinstance(link, UnsupportedError):
            return FetchError(FailureReason.NO_MEDIA, detail)
        if isinstance(link, UserNotLive):
            return FetchError(FailureReason.UPCOMING, detail)
        if isinstance(link, PostProcessingError):  # a merge or fix-up past CHILD_MEMORY_MB
            return FetchError(FailureReason.PROCESSING, detail)
    status = next((link.status for link in chain if isinstance(link, net.HTTPError)), None)
    if status == 429:
        return FetchError(FailureReason.RATE_LIMITED, detail, status=status)
    expected = next((link for link in chain if isinstance(link, ExtractorError)), None)
    if expected is not None and expected.expected:
        said = classify_message(str(expected.orig_msg))
        if said.reason is not FailureReason.UNSUPPORTED:
            return FetchError(said.reason, detail, **said.params)
    if status is not None:
        return FetchError(FailureReason.HTTP_STATUS, detail, status=status)
    for link in chain:
        if isinstance(link, net.SSLError):
            return FetchError(FailureReason.TLS, detail)
        if isinstance(link, net.IncompleteRead):
            return FetchError(FailureReason.CONNECTION_LOST, detail)
        if isinstance(link, net.TransportError):
            return FetchError(network_reason(detail) or FailureReason.CONNECTION, detail)
    return classify_message(detail)


def _detail(exc: BaseException) -> str:
    """The message for the log, without yt-dlp's colours and its "ERROR: " prefix."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    return text.removeprefix("ERROR: ").strip()[:500]
