"""Typed failures: every way a job can end badly, with the details its message needs."""

from __future__ import annotations

import errno
from enum import StrEnum

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class FailureReason(StrEnum):
    """Why a job failed; `presenter.texts.failure_text` turns it into the user's message.

    The values are stored (links.reason): never rename one. A failure's own words (a library's
    or a site's, in English) go into JobError.detail, which only the log shows.
    """

    INVALID_URL = "invalid_url"
    BLOCKED_URL = "blocked_url"
    DNS = "dns"
    CONNECTION = "connection"  # refused, reset or unreachable before anything came
    CONNECTION_LOST = "connection_lost"  # broke off, or ended early, while reading
    TLS = "tls"  # the secure connection failed (a certificate that does not verify)
    REDIRECTS = "redirects"  # too many redirects
    HTTP_STATUS = "http_status"
    RATE_LIMITED = "rate_limited"  # the site said "too many requests" (HTTP 429): it passes
    BOT_CHECK = "bot_check"  # the site wants proof that no bot asks (YouTube's "not a bot")
    FORMAT_UNAVAILABLE = "format_unavailable"  # the page lists none of the formats asked for
    TIMEOUT = "timeout"
    LOGIN_REQUIRED = "login_required"  # private, age-restricted, members-only, anti-bot login
    GEO_BLOCKED = "geo_blocked"  # not offered in the server's country
    UNAVAILABLE = "unavailable"  # removed, or never public
    UPCOMING = "upcoming"  # a live stream or premiere that has not started
    BAD_ENCODING = "bad_encoding"  # compressed in a way the bot refuses, or corrupt
    TOO_LARGE = "too_large"
    TOO_LARGE_FOR_TELEGRAM = "too_large_for_telegram"
    PAGE_TOO_LARGE = "page_too_large"  # a page or manifest past MAX_PAGE_MB
    NO_MEDIA = "no_media"
    UNSUPPORTED = "unsupported"
    PROCESSING = "processing"  # ffmpeg failed putting the media together (its memory ceiling)
    EMPTY = "empty"
    UPLOAD_FAILED = "upload_failed"
    CHAT_UNAVAILABLE = "chat_unavailable"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"  # the bot died while the job ran; it is not run again
    DISK_FULL = "disk_full"
    NOT_SPLIT = "not_split"  # too large for Telegram, and SPLIT_FILES does not cut its kind
    SPLIT_FAILED = "split_failed"  # too large for Telegram, and it could not be cut to fit
    RENDER_FAILED = "render_failed"  # /pdf: the browser could make neither a PDF nor a picture
    PAGES_UNAVAILABLE = "pages_unavailable"  # /pdf: no browser to render with (the operator's)
    INTERNAL = "internal"


# A site's refusal that passes with time: the job is parked and tried again (PARK_RETRY_HOURS).
PASSING = frozenset({FailureReason.RATE_LIMITED, FailureReason.BOT_CHECK})


def passes(reason: FailureReason, status: int | None = None) -> bool:
    """Whether a failure is the site's for now (a 429, the bot check, a 5xx) and worth a retry
    later."""
    if reason is FailureReason.HTTP_STATUS:
        return status is not None and 500 <= status <= 599
    return reason in PASSING


class JobError(Exception):
    """Base of the failures a fetcher or deliverer raises; carries a reason and details."""

    def __init__(self, reason: FailureReason, detail: str = "", **params: object) -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
        self.params = params


class FetchError(JobError):
    """Fetching the media failed."""


class DeliveryError(JobError):
    """Delivering the file to Telegram failed."""


class StaleFileIdError(Exception):
    """Telegram rejected a cached file_id; the caller drops it and runs the job normally."""


class UnconfirmedDeliveryError(Exception):
    """A file was sent but the answer was lost: it is most likely in the chat, and is not sent
    again (a second copy is worse than asking the user to check)."""

    def __init__(self, route: str, detail: str) -> None:
        super().__init__(f"{route}: {detail}")
        self.route = route
        self.detail = detail


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc`, or anything it was raised from, is "no space left" (or a full quota)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_FULL:
            return True
        current = current.__cause__ or current.__context__
    return False
