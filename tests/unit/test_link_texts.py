"""The answers about links and access: one text per rule, counted texts in the right form, in
English and Persian."""

from __future__ import annotations

import re

import pytest

from bot.access.rules import Verdict
from bot.handlers.links import LISTED, links_answer
from bot.handlers.refusals import LinkRules, NotTaken, access_text, not_taken_text
from bot.i18n import I18n, Translator

BIDI_CONTROLS = re.compile("[\u200e\u200f\u2066-\u2069]")
RULES = LinkRules(per_user=2, per_minute=10, retry_in=42)


def plain(text: str) -> str:
    return BIDI_CONTROLS.sub("", text)


@pytest.fixture(scope="module")
def en() -> Translator:
    return I18n().get("en")


@pytest.fixture(scope="module")
def fa() -> Translator:
    return I18n().get("fa")


def test_one_link_taken_needs_no_answer(en: Translator) -> None:
    assert links_answer(en, 1, [], RULES) is None  # the download's own message answers


def test_one_link_refused_is_told_the_rule_alone(en: Translator) -> None:
    refused = [("https://a.example/x", NotTaken.USER_LIMIT)]
    assert links_answer(en, 1, refused, RULES) == not_taken_text(en, NotTaken.USER_LIMIT, RULES)


def test_several_links_get_one_answer_grouped_by_why(en: Translator) -> None:
    refused = [
        ("https://c.example/x", NotTaken.RATE_LIMIT),
        ("https://d.example/y", NotTaken.USER_LIMIT),
        ("https://e.example/z", NotTaken.RATE_LIMIT),
    ]
    assert links_answer(en, 5, refused, RULES) == "\n".join(
        [
            "🔗 Your message has 5 links.",
            "✅ 2 are being fetched, each with a progress message of its own.",
            "3 were not taken:",
            "",
            "🐢 Slow down: up to 10 links a minute. Try again in 42 seconds.",
            "• c.example/x",
            "• e.example/z",
            "",
            "⏳ You already have 2 downloads going. Wait for one to finish or /cancel it.",
            "• d.example/y",
        ]
    )


def test_none_taken(en: Translator) -> None:
    refused = [(f"https://{n}.example/", NotTaken.STOPPING) for n in "ab"]
    assert links_answer(en, 2, refused, RULES) == "\n".join(
        [
            "🔗 Your message has 2 links.",
            "None of them was taken:",
            "",
            "🔄 The bot is restarting. Please send the links again in a minute.",
            "• a.example",
            "• b.example",
        ]
    )


def test_a_long_list_is_cut_and_counted(en: Translator) -> None:
    refused = [(f"https://x.example/{n}", NotTaken.QUEUE_FULL) for n in range(LISTED + 5)]
    text = links_answer(en, LISTED + 5, refused, RULES)
    assert text is not None
    assert text.count("• ") == LISTED
    assert text.endswith("…and 5 more.")


@pytest.mark.parametrize(
    ("count", "english", "persian"),
    [
        (1, "✅ 1 is being fetched; its progress has a message of its own.", "✅ ۱ لینک"),
        (5, "✅ 5 are being fetched, each with a progress message of its own.", "✅ ۵ لینک"),
    ],
)
def test_counted_lines_for_one_and_five(
    count: int, english: str, persian: str, en: Translator, fa: Translator
) -> None:
    refused = [("https://z.example/", NotTaken.QUEUE_FULL)]
    assert english in (links_answer(en, count + 1, refused, RULES) or "")
    assert persian in plain(links_answer(fa, count + 1, refused, RULES) or "")


@pytest.mark.parametrize(
    ("per_user", "text"),
    [
        (1, "⏳ You already have 1 download going. Wait for it to finish or /cancel it."),
        (5, "⏳ You already have 5 downloads going. Wait for one to finish or /cancel it."),
    ],
)
def test_the_per_user_limit_counts(per_user: int, text: str, en: Translator) -> None:
    assert not_taken_text(en, NotTaken.USER_LIMIT, LinkRules(per_user, 10, 0)) == text


def test_the_rate_limit_counts_in_persian(fa: Translator) -> None:
    text = plain(not_taken_text(fa, NotTaken.RATE_LIMIT, LinkRules(2, 1, 5)))
    assert text == "🐢 کمی آهسته‌تر: حداکثر ۱ لینک در دقیقه. ۵ ثانیهٔ دیگر دوباره تلاش کنید."


def test_access_is_one_text_whatever_was_asked(en: Translator, fa: Translator) -> None:
    assert access_text(en, Verdict.BANNED, 7) == "⛔ Sorry, this bot is not available to you."
    # Not on ALLOWED_USERS: the same refusal, and the id the operator would add.
    assert access_text(en, Verdict.NOT_ALLOWED, 7) == (
        "⛔ Sorry, this bot is not available to you. It is private: its operator can let you"
        " in with your user id, 7."
    )
    banned, unlisted = (
        plain(access_text(fa, v, 7)) for v in (Verdict.BANNED, Verdict.NOT_ALLOWED)
    )
    assert unlisted.startswith(banned)
    assert "۷" not in unlisted and "7" in unlisted  # an id to copy, as Telegram writes it
