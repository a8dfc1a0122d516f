"""Cookies files: what counts as Netscape, which file a link gets, turns after a refusal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.download.cookies import CookieFormatError, CookieStore, parse
from bot.model.failures import FailureReason


def line(domain: str, name: str = "SID", expires: int = 1893456000) -> str:
    return f"{domain}\tTRUE\t/\tTRUE\t{expires}\t{name}\tvalue"


def test_a_netscape_file_and_what_it_covers() -> None:
    text = "# Netscape HTTP Cookie File\n" + "\n".join(
        [line(".youtube.com"), line(".youtube.com", "B", 0), "#HttpOnly_" + line(".google.com")]
    )
    info = parse(text)
    assert info.sites == ("youtube.com", "google.com")
    assert info.cookies == 3
    assert info.expires == dt.datetime.fromtimestamp(1893456000, dt.UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "name=value; other=1\n",  # a header's form, not Netscape
        ".a.com\tTRUE\t/\tTRUE\tsoon\tSID\tv\n",
        ".a.com\tyes\t/\tTRUE\t0\tSID\tv\n",
        '{"cookies": []}\n',
    ],
)
def test_what_is_not_netscape(text: str) -> None:
    with pytest.raises(CookieFormatError):
        parse(text)


def test_files_are_chosen_by_domain_and_taken_in_turn(tmp_path: Path) -> None:
    now = [0.0]
    fallback = tmp_path / "old.txt"
    store = CookieStore(tmp_path / "cookies", fallback, clock=lambda: now[0])
    first = store.add((line(".youtube.com") + "\n").encode())
    second = store.add((line(".youtube.com") + "\n").encode())
    store.add((line("vimeo.com") + "\n").encode())
    assert (first.name, second.name) == ("youtube.com.txt", "youtube.com-2.txt")
    folder = tmp_path / "cookies"
    url = "https://www.youtube.com/watch?v=x"
    assert store.choose(url) == folder / "youtube.com.txt"
    assert store.choose("https://vimeo.com/1") == folder / "vimeo.com.txt"
    assert store.choose("https://example.com/") == fallback  # YTDLP_COOKIES, as before
    store.refused(folder / "youtube.com.txt", FailureReason.TIMEOUT)  # not the cookies' fault
    assert store.choose(url) == folder / "youtube.com.txt"
    store.refused(folder / "youtube.com.txt", FailureReason.BOT_CHECK)
    assert store.choose(url) == folder / "youtube.com-2.txt"
    now[0] = 10.0
    store.refused(folder / "youtube.com-2.txt", FailureReason.LOGIN_REQUIRED)
    assert store.choose(url) == folder / "youtube.com.txt"  # refused longest ago
    now[0] = 3601.0
    assert store.choose(url) == folder / "youtube.com.txt"  # an hour on: first again
    assert store.remove("youtube.com.txt")
    assert not store.remove("../youtube.com-2.txt")
    assert [p.name for p, _ in store.files()] == ["vimeo.com.txt", "youtube.com-2.txt"]
