"""Translators: the language picked for a user, fallbacks, digits, and bidi isolation for RTL."""

from __future__ import annotations

import re

import pytest

from bot.i18n import I18n, Translator
from bot.i18n.bidi import FSI, LRI, PDI, RLM, isolate_ltr_runs, rtl_template

PERSIAN_LETTER = re.compile(r"[\u0600-\u06ff]")


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return I18n()


@pytest.mark.parametrize(
    ("code", "language"),
    [("fa", "fa"), ("fa-IR", "fa"), ("FA_ir", "fa"), ("en-GB", "en"), ("de", "en"), (None, "en")],
)
def test_telegram_language_codes_pick_a_catalog(
    i18n: I18n, code: str | None, language: str
) -> None:
    assert i18n.get(code).language == language


def test_english_and_persian_are_offered(i18n: I18n) -> None:
    assert i18n.languages[0] == "en"
    assert "fa" in i18n.languages


def test_persian_catalog_is_used(i18n: I18n) -> None:
    text = i18n.get("fa")("Choose the language")
    assert PERSIAN_LETTER.search(text)


def test_a_string_missing_from_the_catalog_falls_back_to_english() -> None:
    tr = Translator("fa", {})
    assert tr("{n} new", n=3) == "3 new"


def test_placeholders_are_filled_in_the_translation() -> None:
    tr = Translator("fa", {"Hi {name}!": "سلام {name}!"})
    assert tr("Hi {name}!", name="Ada") == "سلام Ada!"


def test_every_persian_line_starts_right_to_left(i18n: I18n) -> None:
    tr = i18n.get("fa")
    assert tr.messages
    for text in tr.messages.values():
        for line in text.split("\n"):
            assert not line or line.startswith(RLM), repr(line)


def test_digits_follow_the_locale() -> None:
    assert Translator("fa").digits("12:05, 3%") == "۱۲:۰۵, ۳%"
    assert Translator("en").digits("12:05") == "12:05"


def test_bidi_helpers_leave_english_alone() -> None:
    tr = Translator("en")
    assert (tr.ltr("/cancel"), tr.isolate("Title"), tr.line("x")) == ("/cancel", "Title", "x")


def test_bidi_helpers_isolate_in_persian() -> None:
    tr = Translator("fa")
    assert tr.ltr("/cancel") == f"{LRI}/cancel{PDI}"
    assert tr.isolate("Sunset (2024)") == f"{FSI}Sunset (2024){PDI}"
    assert tr.line("██ ۵۰٪") == f"{RLM}██ ۵۰٪"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # A command keeps its slash on the left instead of the RTL reading order's right.
        ("برای توقف /cancel را بفرستید.", "برای توقف ⟨/cancel⟩ را بفرستید."),
        ("روش استفاده: /{command} USER_ID (شناسه)", "روش استفاده: ⟨/{command} USER_ID⟩ (شناسه)"),
        # URL schemes keep "://" attached; brackets belong to the Persian sentence.
        ("(http:// یا https://)", "(⟨http://⟩ یا ⟨https://⟩)"),
        ("نشانی https://example.com/a?b=1.", "نشانی ⟨https://example.com/a?b=1⟩."),
        # Plain Latin words read fine as they are; "HTTP 404" stays one left-to-right unit.
        ("API_ID و API_HASH را تنظیم کنید", None),
        ("سایت‌هایی که yt-dlp پشتیبانی می‌کند", None),
        ("خطای HTTP {status}", None),
        # Tags, entities and placeholders are never touched; digits need no isolation.
        ('<b>{title}</b> &amp; <a href="https://x.y/z">۲</a>', None),
        ("فایل‌ها تا {limit} و ۲ گیگابایت", None),
    ],
)
def test_ltr_runs_are_isolated(template: str, expected: str | None) -> None:
    # ⟨…⟩ in the expectations stand for the invisible LRI…PDI.
    wanted = template if expected is None else expected.replace("⟨", LRI).replace("⟩", PDI)
    assert isolate_ltr_runs(template) == wanted


def test_rtl_template_pins_each_line_and_keeps_empty_lines() -> None:
    assert rtl_template("سلام {name}!\n\n/help") == f"{RLM}سلام {{name}}!\n\n{RLM}{LRI}/help{PDI}"


def test_a_counted_text_takes_the_form_of_the_languages_rule() -> None:
    key = ("{n} file", "{n} files")
    tr = Translator(
        "fa", plurals={key: ("{n} پرونده", "{n} پرونده‌ها")}, plural_rule=lambda n: int(n > 1)
    )
    assert [tr.ngettext(*key, n) for n in (0, 1, 2)] == ["۰ پرونده", "۱ پرونده", "۲ پرونده‌ها"]
    # The count is written as the language writes numbers; other placeholders are filled too.
    assert tr.ngettext("{n} of {who}", "{n} of {who}", 1234, who="x") == "۱٬۲۳۴ of x"


def test_a_counted_text_missing_from_the_catalog_falls_back_to_english() -> None:
    tr = Translator("fa", plural_rule=lambda n: 0)
    assert tr.ngettext("{n} file", "{n} files", 1) == "۱ file"
    assert tr.ngettext("{n} file", "{n} files", 3) == "۳ files"


def test_persian_plural_forms_come_from_the_catalog(i18n: I18n) -> None:
    tr = i18n.get("fa")
    text = tr.ngettext("✖️ Stopped {n} download.", "✖️ Stopped {n} downloads.", 5)
    assert PERSIAN_LETTER.search(text)
    assert "۵" in text
