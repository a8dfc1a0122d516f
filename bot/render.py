"""Pure functions that turn values into the texts users read."""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import urlsplit

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from bot.i18n import N_, Translator
from bot.jobs.progress import Progress
from bot.model.failures import FailureReason, JobError

BAR_WIDTH = 12

_UNITS = (N_("{n} B"), N_("{n} KB"), N_("{n} MB"), N_("{n} GB"), N_("{n} TB"))

_FAILURES: dict[FailureReason, str] = {
    FailureReason.INVALID_URL: N_("That link is not a valid http(s) URL."),
    FailureReason.BLOCKED_URL: N_(
        "That address is not allowed: it points inside a private network."
    ),
    FailureReason.DNS: N_("The site's name could not be found (DNS). Check the link."),
    FailureReason.CONNECTION: N_("The site could not be reached: {detail}."),
    FailureReason.HTTP_STATUS: N_("The site answered with an error: HTTP {status}."),
    FailureReason.TIMEOUT: N_("The site took too long to answer, so the download was stopped."),
    FailureReason.TOO_LARGE: N_("The file is too large: {size}, the limit is {limit}."),
    FailureReason.TOO_LARGE_FOR_TELEGRAM: N_(
        "The file is {size}, more than Telegram lets this bot upload ({limit}). "
        "The operator can set API_ID and API_HASH to send files up to 2 GB."
    ),
    FailureReason.PAGE_TOO_LARGE: N_(
        "The page is too large to look for media in: more than {limit}."
    ),
    FailureReason.NO_MEDIA: N_("No video or audio was found on that page."),
    FailureReason.UNSUPPORTED: N_("That link cannot be downloaded: {detail}."),
    FailureReason.EMPTY: N_("The server sent an empty file."),
    FailureReason.UPLOAD_FAILED: N_("Telegram did not accept the file: {detail}."),
    FailureReason.CHAT_UNAVAILABLE: N_("The chat is no longer available."),
    FailureReason.INTERRUPTED: N_("The download was interrupted too many times and was given up."),
    FailureReason.CRASHED: N_(
        "The bot stopped unexpectedly while working on this link, so it was not tried again."
    ),
    FailureReason.DISK_FULL: N_("The server is out of disk space. Please try again later."),
    FailureReason.INTERNAL: N_("Something went wrong on our side. Please try again later."),
}


# When the size is unknown (the limit was hit while streaming a file of unannounced size).
_FAILURES_NO_SIZE: dict[FailureReason, str] = {
    FailureReason.TOO_LARGE: N_("The file is too large: more than the limit of {limit}."),
    FailureReason.TOO_LARGE_FOR_TELEGRAM: N_(
        "The file is larger than Telegram lets this bot upload ({limit}). "
        "The operator can set API_ID and API_HASH to send files up to 2 GB."
    ),
}


def number(tr: Translator, value: float, digits: int = 1) -> str:
    """A number as the user's locale writes it: "1,234.5" in English, "۱٬۲۳۴٫۵" in Persian."""
    fmt = "#,##0" if digits == 0 else "#,##0." + "#" * digits
    text = format_decimal(value, format=fmt, locale=tr.locale, numbering_system="default")
    return tr.digits(text)


def percent(tr: Translator, fraction: float) -> str:
    """A whole percentage with the locale's own sign: "42%", "۴۲٪"."""
    sign = tr.locale.number_symbols[tr.numbering].get("percentSign", "%")
    return number(tr, fraction * 100, 0) + str(sign)


def human_size(tr: Translator, size: float) -> str:
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return tr(_UNITS[unit], n=number(tr, value, 0 if unit == 0 else 1))


def human_duration(tr: Translator, seconds: float) -> str:
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return tr.ltr(tr.digits(text))


def human_datetime(tr: Translator, moment: dt.datetime, zone: dt.tzinfo) -> str:
    """Date and time in `zone`, in the user's language: "Mar 21, 2025, 2:05 PM",
    "۲۱ مارس ۲۰۲۵، ۱۴:۰۵"."""
    local = moment.astimezone(zone)
    day = format_date(local, format="medium", locale=tr.locale)
    hour = format_time(local, format="short", tzinfo=zone, locale=tr.locale)
    return tr.digits(str(tr.locale.datetime_formats["medium"]).format(hour, day))


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def progress_line(tr: Translator, fraction: float) -> str:
    """The bar and the percentage. In RTL text the line is pinned right to left, so the bar
    fills from the right with the percentage after it, as right-to-left progress bars do;
    the bar's glyphs are direction-neutral and would otherwise follow whatever the client
    guesses."""
    return tr.line(f"{progress_bar(fraction)} {percent(tr, fraction)}")


def progress_text(tr: Translator, p: Progress, title: str | None = None) -> str:
    """The status message during a transfer: bar, percent, done/total, speed, ETA."""
    head = tr("Downloading…") if p.phase == "download" else tr("Uploading to Telegram…")
    lines = [f"<b>{html.escape(head)}</b>"]
    if title:
        lines.append(tr.line(tr.isolate(html.escape(title))))
    if p.total:
        fraction = p.done / p.total
        lines.append(progress_line(tr, fraction))
        lines.append(
            tr("{done} of {total}", done=human_size(tr, p.done), total=human_size(tr, p.total))
        )
    else:
        lines.append(tr("{done} so far", done=human_size(tr, p.done)))
    extra = []
    if p.speed:
        extra.append(tr("{speed}/s", speed=human_size(tr, p.speed)))
    if p.eta is not None and p.total:
        extra.append(tr("{eta} left", eta=human_duration(tr, p.eta)))
    if extra:
        lines.append(" · ".join(extra))
    return "\n".join(lines)


def failure_text(tr: Translator, error: JobError) -> str:
    params: dict[str, object] = {"detail": tr.isolate(error.detail or error.reason.value)}
    params.update(error.params)
    for key in ("size", "limit"):
        value = params.get(key)
        if isinstance(value, int):
            params[key] = human_size(tr, value)
    params.setdefault("size", "?")
    params.setdefault("limit", "?")
    params.setdefault("status", "?")
    template = _FAILURES.get(error.reason, _FAILURES[FailureReason.INTERNAL])
    if "size" not in error.params and error.reason in _FAILURES_NO_SIZE:
        template = _FAILURES_NO_SIZE[error.reason]
    return "❌ " + html.escape(tr(template, **params))


def short_url(url: str, width: int = 60) -> str:
    """A URL trimmed for display: host and path, cut in the middle when long."""
    parts = urlsplit(url)
    text = (parts.netloc + parts.path).rstrip("/") or url
    if parts.query:
        text += "?…"
    if len(text) > width:
        keep = (width - 1) // 2
        text = text[:keep] + "…" + text[-keep:]
    return text
