"""What a job shows in the chat: titles from pages cannot smuggle controls into a caption."""

from __future__ import annotations

import re

from bot.i18n import Translator
from bot.jobs.events import NeedChoice
from bot.presenter.texts import choice_prompt
from bot.upload.caption import caption

# What the page may carry, and what the bot itself may add (its own isolates around the title).
SMUGGLED = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]")


def test_a_caption_keeps_the_title_and_loses_its_controls() -> None:
    text = caption(Translator("en"), "Holiday\u202egpj.exe\x1b[2J\x00", 1000, "https://e.com/v")
    assert "Holiday gpj.exe [2J" in text
    assert not SMUGGLED.search(text)


def test_the_format_question_shows_a_clean_title() -> None:
    asked = NeedChoice("A\u202eB\u2066C", None, 20)
    text, _ = choice_prompt(Translator("fa"), 1, "https://e.com/v", asked)
    title = text.split("<b>")[1].split("</b>")[0]
    assert "\u202e" not in title
    assert "A B C" in title
