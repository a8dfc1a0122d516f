"""History pages and the splitting of long HTML: pure functions, checked as a reader sees them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.daily.notice import split_blocks, utf16_len
from bot.history.pages import HistoryPage
from bot.history.texts import history_buttons, history_text
from bot.i18n import I18n
from bot.store.links import LinkOutcome, LinkRecord
from tests.fakes.tg_text import render

TR = I18n().get("en")
UTC = ZoneInfo("UTC")
AT = dt.datetime(2025, 3, 10, 14, 5, tzinfo=dt.UTC)


def record(
    n: int,
    outcome: LinkOutcome,
    *,
    reason: str | None = None,
    size: int | None = None,
    title: str | None = None,
) -> LinkRecord:
    return LinkRecord(n, 7, f"https://example.com/v/{n}?a=b", AT, outcome, reason, size, title)


def test_history_page_shows_outcome_title_size_and_reason() -> None:
    page = HistoryPage(
        7,
        (
            record(1, LinkOutcome.DELIVERED, title="A <b>film</b>", size=3 * 1024 * 1024),
            record(2, LinkOutcome.FAILED, reason="http_status"),
            record(3, LinkOutcome.CANCELLED),
        ),
        page=1,
        pages=3,
        total=23,
    )
    text = render(history_text(TR, UTC, page, 30), "HTML")
    assert "Page 2 of 3, 23 links in all." in text
    assert "✅" in text
    assert "example.com/v/1?…" in text
    assert "A <b>film</b> · 3 MB" in text  # a title is text, not markup
    assert "❌" in text
    assert "the site answered with an error" in text
    assert "✖️" in text
    assert "cancelled" in text
    assert "Links are kept 30 days." in text
    buttons = history_buttons(TR, page)
    assert buttons == [[("◀️ Newer", "hist:7:0"), ("Older ▶️", "hist:7:2")]]


def test_an_empty_history_has_no_buttons() -> None:
    page = HistoryPage(7, (), 0, 1, 0)
    assert "You have no links in your history." in history_text(TR, UTC, page, 30)
    assert history_buttons(TR, page) is None


def test_blocks_stay_whole_when_they_fit() -> None:
    blocks = [["head"], ["<b>A</b>", "a1", "a2"], ["<b>B</b>", "b1"]]
    assert split_blocks(blocks, 100) == ["head\n\n<b>A</b>\na1\na2\n\n<b>B</b>\nb1"]
    parts = split_blocks(blocks, 22)
    assert parts == ["head\n\n<b>A</b>\na1\na2", "<b>B</b>\nb1"]


def test_a_block_larger_than_a_message_is_cut_between_lines() -> None:
    lines = [f"<i>line {n:02d}</i>" for n in range(30)]
    parts = split_blocks([["<b>X</b>", *lines]], 100, lambda h: f"{h} (more)")
    assert len(parts) > 2
    assert all(utf16_len(p) <= 100 for p in parts)
    assert all(p.startswith("<b>X</b> (more)\n") for p in parts[1:])
    for part in parts:
        render(part, "HTML")  # balanced tags in every part
    body = [line for p in parts for line in p.split("\n") if line.startswith("<i>")]
    assert body == lines


def test_a_line_longer_than_a_message_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        split_blocks([["x" * 50]], 10)


def test_utf16_length_counts_like_telegram() -> None:
    block = ["😀" * 30]  # 60 UTF-16 units, 30 code points
    assert len(split_blocks([block, block], 100)) == 2
