"""What English and Persian users read: numbers, sizes, progress, dates and failures."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.menu import USER_COMMANDS
from bot.handlers.start import help_text
from bot.i18n import I18n, Translator
from bot.i18n.bidi import FSI, LRI, PDI, RLM
from bot.i18n.formats import human_datetime, human_duration, human_size, number, percent
from bot.jobs.events import Progress
from bot.jobs.outcomes import Failed
from bot.model.failures import FailureReason, FetchError
from bot.presenter.texts import failure_text, progress_text

BIDI_CONTROLS = re.compile("[\u200e\u200f\u2066-\u2069]")
LATIN_DIGIT = re.compile("[0-9]")
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
    assert "HTTP" in text
    assert "404" in text
    assert "خطا" in text
    too_large = failure_text(
        fa, Failed.of(FetchError(FailureReason.TOO_LARGE, "", size=3 * MB, limit=MB))
    )
    assert "۳ مگابایت" in plain(too_large)
    assert "۱ مگابایت" in plain(too_large)


def test_a_server_detail_is_isolated_in_persian(fa: Translator, en: Translator) -> None:
    error = FetchError(FailureReason.CONNECTION, "Connection refused")
    assert f"{FSI}Connection refused{PDI}" in failure_text(fa, Failed.of(error))
    assert (
        failure_text(en, Failed.of(error))
        == "❌ The site could not be reached: Connection refused."
    )


def test_dates(en: Translator, fa: Translator) -> None:
    moment = dt.datetime(2025, 3, 21, 10, 35, tzinfo=dt.UTC)
    tehran = ZoneInfo("Asia/Tehran")
    assert human_datetime(en, moment, dt.UTC) == "Mar 21, 2025, 10:35\u202fAM"
    assert plain(human_datetime(fa, moment, tehran)) == "۲۱ مارس ۲۰۲۵، ۱۴:۰۵"


@pytest.mark.parametrize(
    ("hour", "english", "persian"),
    [(1, "1:05\u202fAM", "۱:۰۵"), (13, "1:05\u202fPM", "۱۳:۰۵")],
)
def test_times_before_and_after_ten(
    hour: int, english: str, persian: str, en: Translator, fa: Translator
) -> None:
    # Persian hours have no leading zero: a test expecting two digits fails from 00:00 to 09:59.
    moment = dt.datetime(2025, 3, 21, hour, 5, tzinfo=dt.UTC)
    assert human_datetime(en, moment, dt.UTC) == f"Mar 21, 2025, {english}"
    assert plain(human_datetime(fa, moment, dt.UTC)) == f"۲۱ مارس ۲۰۲۵، {persian}"
    tehran = ZoneInfo("Asia/Tehran")  # UTC+03:30 all year since 2022
    in_tehran = moment.astimezone(tehran).replace(hour=hour, minute=5)
    assert plain(human_datetime(fa, in_tehran, tehran)).endswith(f"، {persian}")


def test_persian_help_lists_commands_left_to_right(fa: Translator) -> None:
    text = help_text(fa, "۵۰ مگابایت")
    for name, _ in USER_COMMANDS:
        line = next(li for li in text.split("\n") if f"/{name}" in li)
        assert line.startswith(f"{RLM}{LRI}/{name}{PDI} — ")
        assert re.search(r"[\u0600-\u06ff]", line)
