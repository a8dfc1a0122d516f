"""Titles from page metadata: yt-dlp's placeholders and numbering never reach the user."""

from __future__ import annotations

import pytest

from bot.download.titles import best_title, page_title, performer, picture, tidy, track_title

HLS = "https://cdn.example.com/trips/sea-2024/hls/master.m3u8"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("My cat plays piano (1)", "My cat plays piano"),
        ("Lecture [page-1]", "Lecture"),
        ("Lecture [Part 2] (3)", "Lecture"),
        ("Rocky (1976)", "Rocky (1976)"),  # a year is part of the title
        ("  Tabs\tand\u202enewlines\n ", "Tabs and newlines"),
        ("(1)", None),
        (None, None),
    ],
)
def test_tidy_cuts_numbering_and_controls(raw: str | None, shown: str | None) -> None:
    assert tidy(raw) == shown


@pytest.mark.parametrize(
    ("candidates", "url", "title"),
    [
        (["master"], HLS, "sea-2024"),
        (["index (1)", "Two Clips"], "https://example.com/page", "Two Clips"),
        (["manifest"], "https://www.example.com/", "example.com"),
        (["f08e80da-bf1d-4e3d-8899-f0f6155f6efa"], "https://h.example/v/My%20Trip.mp4", "My Trip"),
        (["720p"], "https://h.example/static/1080/chunklist.m3u8", "h.example"),
        (["A real title"], HLS, "A real title"),
    ],
)
def test_a_placeholder_gives_way_to_the_page_or_the_url(
    candidates: list[str], url: str, title: str
) -> None:
    assert best_title(candidates, url) == title


def test_an_entry_of_a_page_of_videos_takes_the_page_title() -> None:
    entry = {"title": "master (1)", "playlist_title": "Holiday films"}
    assert page_title(entry, HLS) == "Holiday films"
    assert page_title({"title": "Holiday (2)"}, HLS) == "Holiday"


def test_credits_prefer_artists_then_the_uploader() -> None:
    assert performer({"artists": ["A", "B"], "uploader": "chan"}) == "A, B"
    assert performer({"artist": "Solo", "uploader": "chan"}) == "Solo"
    assert performer({"uploader": "chan\u202e"}) == "chan"
    assert performer({}) is None
    assert track_title({"track": "Song (1)"}) == "Song"
    assert track_title({"track": "index"}) is None


def test_the_picture_is_an_http_url() -> None:
    assert picture({"thumbnail": "https://x/p.jpg"}) == "https://x/p.jpg"
    thumbnails = [{"url": "https://x/small.jpg"}, {"url": "https://x/big.jpg"}]
    assert picture({"thumbnails": thumbnails}) == "https://x/big.jpg"
    assert picture({"thumbnail": "file:///etc/passwd"}) is None
    assert picture({}) is None
