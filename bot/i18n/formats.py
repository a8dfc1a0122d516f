"""How values read in the user's language: numbers, sizes, durations, dates, URLs, titles."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import jdatetime
from babel.dates import format_date, format_time

from bot.i18n import N_, Translator

_UNITS = (N_("{n} B"), N_("{n} KB"), N_("{n} MB"), N_("{n} GB"), N_("{n} TB"))
# Controls (C0, DEL, C1) and the invisible marks that reorder text (bidi embeddings,
# overrides, isolates and marks): in a name or caption they disguise it ("exe.mp4" shown
# for "mp4.exe") or garble the message around it.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")
# Languages whose readers date things in the Solar Hijri calendar (Iran's official calendar).
SOLAR_HIJRI = frozenset({"fa"})


def clean_text(text: str) -> str:
    """A title fit to show: no control or bidi characters, whitespace runs made one space."""
    return _SPACES.sub(" ", _CONTROLS.sub(" ", text)).strip()


def number(tr: Translator, value: float, digits: int = 1) -> str:
    """A number as the user's locale writes it: "1,234.5" in English, "۱٬۲۳۴٫۵" in Persian."""
    return tr.number(value, digits)


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


def clock_time(tr: Translator, seconds: float) -> str:
    """A position in a video or a song: "1:05", "1:02:03" (in the locale's digits)."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return tr.digits(text)


def human_datetime(tr: Translator, moment: dt.datetime, zone: dt.tzinfo) -> str:
    """Date and time in `zone`, in the user's language and calendar: "Nov 29, 2026, 1:05 PM",
    "۸ آذر ۱۴۰۵، ۱۳:۰۵"."""
    local = moment.astimezone(zone)
    if tr.language in SOLAR_HIJRI:
        day = solar_hijri_date(local.date())
    else:
        day = format_date(local, format="medium", locale=tr.locale)
    hour = format_time(local, format="short", tzinfo=zone, locale=tr.locale)
    return tr.digits(str(tr.locale.datetime_formats["medium"]).format(hour, day))


def solar_hijri_date(day: dt.date) -> str:
    """A day of the Solar Hijri calendar, as Iran writes it: "8 آذر 1405" (digits are the
    caller's). Babel formats the Gregorian calendar only; jdatetime converts."""
    jalali = jdatetime.date.fromgregorian(date=day, locale="fa_IR")
    month = jdatetime.date.j_months_fa[jalali.month - 1]
    return f"{jalali.day} {month} {jalali.year}"


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
