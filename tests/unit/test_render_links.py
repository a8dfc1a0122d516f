"""History pages and the splitting of long HTML: pure functions, checked as a reader sees them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.daily.notice import TEXT_LIMIT, split_blocks, utf16_len
from bot.history.pages import PER_PAGE, HistoryPage
from bot.history.texts import history_buttons, history_text
from bot.i18n import I18n
from bot.store.links import LinkOutcome, LinkRecord
from tests.fakes.tg_text import render

TR = I18n().get("en")
FA = I18n().get("fa")
UTC = ZoneInfo("UTC")
AT = dt.datetime(2025, 3, 10, 14, 5, tzinfo=dt.UTC)


def record(
    n: int,
    outcome: LinkOutcome,
    *,
    reason: str | None = None,
    size: int | None = None,
    title: str | None = None,
    files: int = 0,
    playlist: bool = False,
) -> LinkRecord:
    url = f"https://example.com/v/{n}?a=b"
    return LinkRecord(n, 7, url, AT, outcome, reason, size, title, files, playlist)


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


@pytest.mark.parametrize(
    ("lang", "parts", "items"),
    [("en", "124.8 MB · in 3 parts", "12 files"), ("fa", "در ۳ بخش", "۱۲ فایل")],
)
def test_a_link_delivered_in_several_files_says_how_many(
    lang: str, parts: str, items: str
) -> None:
    tr = I18n().get(lang)
    size = int(124.8 * 1024 * 1024)
    page = HistoryPage(
        7,
        (
            record(1, LinkOutcome.DELIVERED, title="Film", size=size, files=3),
            record(2, LinkOutcome.UNCONFIRMED, title="List", size=size, files=12, playlist=True),
            record(3, LinkOutcome.DELIVERED, title="Single", size=size, files=1),
            record(4, LinkOutcome.DELIVERED, title="Plain", size=size),
        ),
        page=0,
        pages=1,
        total=4,
    )
    lines = render(history_text(tr, UTC, page, 30), "HTML").split("\n")
    film, playlist, single, plain = (
        next(line for line in lines if title in line)
        for title in ("Film", "List", "Single", "Plain")
    )
    assert parts in film
    assert items in playlist
    for one in (single, plain):  # one file: nothing to count
        assert not any(word in one for word in ("part", "file", "بخش", "فایل"))


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_a_full_page_of_the_longest_entries_fits_one_message(lang: str) -> None:
    tr = I18n().get(lang)
    long_url = "https://" + "sub." * 20 + "example.com/" + "path/" * 40 + "?q=1"
    entries = tuple(
        LinkRecord(
            n, 7, long_url, AT, LinkOutcome.UNCONFIRMED, None, 1999 * 1024**3, "😀" * 200, 999
        )
        for n in range(PER_PAGE)
    )
    page = HistoryPage(7, entries, page=99_998, pages=99_999, total=999_999)
    text = render(history_text(tr, UTC, page, 99_999), "HTML")
    assert utf16_len(text) <= TEXT_LIMIT


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
