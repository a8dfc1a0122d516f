"""What English and Persian users read: numbers, sizes, progress, dates and failures."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.menu import USER_COMMANDS
from bot.handlers.start import help_text
from bot.history.texts import REASONS
from bot.i18n import I18n, Translator
from bot.i18n.bidi import FSI, LRI, PDI, RLM
from bot.i18n.formats import human_datetime, human_duration, human_size, number, percent
from bot.jobs.events import Progress
from bot.jobs.outcomes import Failed
from bot.model.failures import FailureReason, FetchError
from bot.presenter.texts import _FAILURES, failure_text, progress_text

BIDI_CONTROLS = re.compile("[\u200e\u200f\u2066-\u2069]")
LATIN_DIGIT = re.compile("[0-9]")
LATIN = re.compile("[A-Za-z]")
URL = re.compile(r"[a-z]+://\S*")
PERSIAN = re.compile("[\u0600-\u06ff]")
MB = 1024 * 1024


def plain(text: str) -> str:
    """The text without its invisible direction marks: what the user reads."""
    return BIDI_CONTROLS.sub("", text)


@pytest.fixture(scope="module")
def en() -> Translator:
    return I18n().get("en")


@pytest.fixture(scope="module")
def fa() -> Translator:
    return I18n().get("fa")


def test_numbers_use_persian_digits_and_separators(en: Translator, fa: Translator) -> None:
    # Babel gives Persian separators (numbering_system="default") but Latin digits:
    # "1٬234٫5"; the digits are substituted so the number is Persian throughout.
    assert number(en, 1234.5) == "1,234.5"
    assert number(fa, 1234.5) == "۱٬۲۳۴٫۵"
    assert number(fa, 7, 0) == "۷"


def test_sizes(en: Translator, fa: Translator) -> None:
    assert human_size(en, 1.5 * MB) == "1.5 MB"
    assert human_size(en, 512) == "512 B"
    assert plain(human_size(fa, 1.5 * MB)) == "۱٫۵ مگابایت"
    assert plain(human_size(fa, 2 * 1024 * MB)) == "۲ گیگابایت"
    assert plain(human_size(fa, 512)) == "۵۱۲ بایت"


def test_percent_and_eta(en: Translator, fa: Translator) -> None:
    assert percent(en, 0.42) == "42%"
    assert percent(fa, 0.42) == "۴۲٪"
    assert human_duration(en, 65) == "1:05"
    assert human_duration(fa, 3725) == f"{LRI}۱:۰۲:۰۵{PDI}"


def test_english_progress_has_no_direction_marks(en: Translator) -> None:
    text = progress_text(en, Progress("download", MB, 2 * MB, 256 * 1024, 4), "Sunset (2024)")
    assert text.split("\n") == [
        "<b>Downloading…</b>",
        "Sunset (2024)",
        "██████░░░░░░ 50%",
        "1 MB of 2 MB",
        "256 KB/s · 0:04 left",
    ]


def test_persian_progress(fa: Translator) -> None:
    p = Progress("download", 3 * MB, 12 * MB, 1.5 * MB, 65)
    lines = progress_text(fa, p, "Sunset (2024)").split("\n")
    assert plain(lines[0]) == "<b>در حال دانلود…</b>"
    # A Latin title keeps its own direction inside the right-to-left message.
    assert lines[1] == f"{RLM}{FSI}Sunset (2024){PDI}"
    # The bar line is pinned right to left: the bar fills from the right, the percentage
    # follows it on the left; nothing isolates the bar into a left-to-right run.
    assert lines[2] == f"{RLM}███░░░░░░░░░ ۲۵٪"
    assert plain(lines[3]) == "۳ مگابایت از ۱۲ مگابایت"
    assert plain(lines[4]) == "۱٫۵ مگابایت بر ثانیه · ۱:۰۵ مانده"
    # Every number a Persian user reads is in Persian digits.
    assert not LATIN_DIGIT.search(plain("\n".join(lines[2:])))


def test_persian_progress_of_unknown_size(fa: Translator) -> None:
    text = progress_text(fa, Progress("upload", 5 * MB, None, None, None))
    assert plain(text) == "<b>در حال ارسال به تلگرام…</b>\nتاکنون ۵ مگابایت"


def test_persian_failures_say_why(fa: Translator) -> None:
    text = failure_text(fa, Failed.of(FetchError(FailureReason.HTTP_STATUS, "", status=404)))
    assert text.startswith("❌ ")
    assert "۴۰۴" in text  # the status, for reference, in Persian digits
    assert "خطا" in text
    assert not LATIN.search(plain(text)), text
    too_large = failure_text(
        fa, Failed.of(FetchError(FailureReason.TOO_LARGE, "", size=3 * MB, limit=MB))
    )
    assert "۳ مگابایت" in plain(too_large)
    assert "۱ مگابایت" in plain(too_large)


@pytest.mark.parametrize("reason", list(FailureReason))
def test_a_failures_own_words_never_reach_the_user(
    reason: FailureReason, en: Translator, fa: Translator
) -> None:
    # What httpx, yt-dlp or Telegram said is English (and an attacker's choice, sometimes):
    # the user reads the reason in their language; the words go to the log.
    error = FetchError(reason, "connection refused or reset", size=60 * MB, limit=50 * MB)
    english = failure_text(en, Failed.of(error))
    persian = plain(failure_text(fa, Failed.of(error)))
    assert "connection refused" not in english
    assert not LATIN.search(URL.sub("", persian)), persian  # Latin only in "https://"
    assert PERSIAN.search(persian)


@pytest.mark.parametrize(
    ("status", "english"),
    [
        (403, "The site refused access (error 403): the file may be private or need a login."),
        (404, "The site says there is nothing at this link (error 404). Check the link."),
        (429, "The site is limiting requests right now (error 429). Please try again later."),
        (503, "The site has a problem right now (error 503). Please try again later."),
        (418, "The site answered with error 418."),
    ],
)
def test_an_error_status_says_what_the_user_can_do(
    status: int, english: str, en: Translator
) -> None:
    error = FetchError(FailureReason.HTTP_STATUS, f"HTTP {status}", status=status)
    assert failure_text(en, Failed.of(error)) == f"❌ {english}"


def test_too_large_is_one_rule_whatever_set_the_limit(en: Translator, fa: Translator) -> None:
    # MAX_FILE_SIZE_MB or the Bot API's 50 MB: the user reads the same rule, never the
    # operator's settings.
    by_setting = Failed(FailureReason.TOO_LARGE, size=60 * MB, limit=50 * MB)
    by_route = Failed(
        FailureReason.TOO_LARGE_FOR_TELEGRAM, "set API_ID", size=60 * MB, limit=50 * MB
    )
    rule = "This bot sends files up to 50 MB."
    assert failure_text(en, by_setting) == f"❌ The file is too large (60 MB). {rule}"
    assert failure_text(en, by_route) == failure_text(en, by_setting)
    unknown = Failed(FailureReason.TOO_LARGE_FOR_TELEGRAM, limit=50 * MB)
    assert failure_text(en, unknown) == f"❌ The file is too large. {rule}"
    assert "API" not in failure_text(fa, by_route)
    assert "۵۰ مگابایت" in plain(failure_text(fa, by_route))


def test_dates_in_english_are_gregorian(en: Translator) -> None:
    moment = dt.datetime(2025, 3, 21, 10, 35, tzinfo=dt.UTC)
    assert human_datetime(en, moment, dt.UTC) == "Mar 21, 2025, 10:35\u202fAM"
    tehran = ZoneInfo("Asia/Tehran")
    at = dt.datetime(2026, 11, 29, 13, 5, tzinfo=tehran)
    assert human_datetime(en, at, tehran) == "Nov 29, 2026, 1:05\u202fPM"


TEHRAN = ZoneInfo("Asia/Tehran")  # UTC+03:30 all year since 2022


@pytest.mark.parametrize(
    ("local", "persian"),
    [
        # 2026-11-29 is 8 Azar 1405, at any hour of the day in Tehran. Persian hours have no
        # leading zero: a test expecting two digits fails from 00:00 to 09:59.
        ((2026, 11, 29, 0, 5), "۸ آذر ۱۴۰۵، ۰:۰۵"),
        ((2026, 11, 29, 1, 5), "۸ آذر ۱۴۰۵، ۱:۰۵"),
        ((2026, 11, 29, 13, 5), "۸ آذر ۱۴۰۵، ۱۳:۰۵"),
        ((2026, 11, 29, 23, 55), "۸ آذر ۱۴۰۵، ۲۳:۵۵"),
        # Nowruz: the last day of 1404 (not a leap year) and the first of 1405.
        ((2026, 3, 20, 23, 30), "۲۹ اسفند ۱۴۰۴، ۲۳:۳۰"),
        ((2026, 3, 21, 0, 30), "۱ فروردین ۱۴۰۵، ۰:۳۰"),
        # 1403 was a leap year: Esfand had 30 days.
        ((2025, 3, 20, 12, 0), "۳۰ اسفند ۱۴۰۳، ۱۲:۰۰"),
        ((2025, 3, 21, 14, 5), "۱ فروردین ۱۴۰۴، ۱۴:۰۵"),
    ],
)
def test_persian_dates_are_solar_hijri(
    local: tuple[int, int, int, int, int], persian: str, fa: Translator
) -> None:
    moment = dt.datetime(*local, tzinfo=TEHRAN)
    assert plain(human_datetime(fa, moment, TEHRAN)) == persian
    # The same moment given in UTC (or any zone) is shown in the zone asked for.
    assert plain(human_datetime(fa, moment.astimezone(dt.UTC), TEHRAN)) == persian


def test_the_day_follows_the_zone_before_the_calendar(fa: Translator) -> None:
    # 22:00 UTC on 28 November is already 29 November (8 Azar) in Tehran.
    moment = dt.datetime(2026, 11, 28, 22, 0, tzinfo=dt.UTC)
    assert plain(human_datetime(fa, moment, dt.UTC)) == "۷ آذر ۱۴۰۵، ۲۲:۰۰"
    assert plain(human_datetime(fa, moment, TEHRAN)) == "۸ آذر ۱۴۰۵، ۱:۳۰"


def test_persian_help_lists_commands_left_to_right(fa: Translator) -> None:
    text = help_text(fa, 50 * MB, 2)
    assert "۵۰ مگابایت" in plain(text)
    for name, _ in USER_COMMANDS:
        line = next(li for li in text.split("\n") if f"/{name}" in li)
        assert line.startswith(f"{RLM}{LRI}/{name}{PDI} — ")
        assert re.search(r"[\u0600-\u06ff]", line)


def test_every_failure_reason_has_its_own_text_and_label() -> None:
    # A new reason without a text would read as "Something went wrong on our side".
    worded_elsewhere = {
        FailureReason.TOO_LARGE,
        FailureReason.TOO_LARGE_FOR_TELEGRAM,
        FailureReason.HTTP_STATUS,
    }
    assert set(FailureReason) - worded_elsewhere == set(_FAILURES) - worded_elsewhere
    assert set(FailureReason) == set(REASONS)
