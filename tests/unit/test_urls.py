"""Reading links out of messages, cache keys, and safe file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.download.files import (
    disposition_filename,
    filename_from_response,
    sanitize_filename,
    unique_path,
)
from bot.download.urls import Marked, find_urls, normalize_url, usable_url
from bot.i18n.formats import clean_text


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("https://example.com/a.mp4", ["https://example.com/a.mp4"]),
        ("  http://example.com/x?y=1  ", ["http://example.com/x?y=1"]),
        # The way share buttons send links: words around them.
        ("check this out https://youtu.be/abc", ["https://youtu.be/abc"]),
        (
            "Watch: https://a.example/v. Or https://b.example/w, too!",
            [
                "https://a.example/v",
                "https://b.example/w",
            ],
        ),
        # Persian punctuation ends a sentence too; a URL needs no space before it.
        ("این را ببین:https://a.example/v، خوب است؟", ["https://a.example/v"]),
        # A bracket the URL opened is its own; one around it is the sentence's.
        (
            "(see https://en.wikipedia.org/wiki/Foo_(bar))",
            ["https://en.wikipedia.org/wiki/Foo_(bar)"],
        ),
        ("HTTPS://Example.com/x", ["HTTPS://Example.com/x"]),
        # The same link twice (or with tracking parameters) is one job.
        ("https://a.example/v https://a.example/v?utm_source=x", ["https://a.example/v"]),
        ("ftp://example.com/file", []),
        ("https://", []),
        ("https://example.com:99999/", []),
        ("example.com/video", []),  # not marked by Telegram: a word, as far as we know
        ("no links here", []),
        ("", []),
    ],
)
def test_links_in_text(text: str, urls: list[str]) -> None:
    assert find_urls(text) == urls


def test_telegram_entities_come_first_and_are_not_found_twice() -> None:
    # Offsets are UTF-16 units: the emoji counts two.
    text = "😀 https://a.example/1 and here and youtu.be/x and readme.md"
    marked = [
        Marked(3, 19, "https://a.example/1"),
        Marked(27, 4, "http://b.example/linked"),  # a text link on "here": not in the text
        Marked(36, 10, "youtu.be/x"),  # Telegram marks addresses without a scheme too
        Marked(51, 9, "readme.md"),  # and bare names, which are more often words
    ]
    assert find_urls(text, marked) == [
        "https://a.example/1",
        "http://b.example/linked",
        "https://youtu.be/x",
    ]


def test_links_keep_their_order_in_the_text() -> None:
    text = "first https://a.example/1 then a link on THIS then https://c.example/3"
    marked = [Marked(41, 4, "https://b.example/2")]
    assert find_urls(text, marked) == [
        "https://a.example/1",
        "https://b.example/2",
        "https://c.example/3",
    ]


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("youtu.be/abc", "https://youtu.be/abc"),
        ("readme.md", None),
        ("user@mail.example/x", None),
        ("tg://resolve?domain=x", None),
        ("mailto:a@b.example", None),
        ("https://example.com/" + "a" * 3000, None),
    ],
)
def test_usable_url(raw: str, url: str | None) -> None:
    assert usable_url(raw) == url


def test_same_resource_same_cache_key() -> None:
    a = normalize_url("HTTPS://Example.COM:443/v?b=2&a=1&utm_source=x#t=10")
    b = normalize_url("https://example.com/v?a=1&b=2")
    assert a == b
    assert normalize_url("https://example.com/v?a=1") != normalize_url("https://example.com/v?a=2")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("a/b\\c:d.mp4", "a_b_c_d.mp4"),
        ("\x00\x1f.hidden", "hidden"),
        ("", "file"),
        ("x" * 300 + ".mp4", "x" * 116 + ".mp4"),
        ("فیلم خوب.mp4", "فیلم خوب.mp4"),
        # Bidi overrides would show "invoice\u202egpj.exe" as "invoiceexe.jpg".
        ("invoice\u202egpj.exe", "invoice gpj.exe"),
        ("a\u2066b\u2069c\u200f.txt", "a b c.txt"),
        ("clip\x1b[31m\x00.mp4", "clip [31m.mp4"),
    ],
)
def test_sanitize_filename(name: str, safe: str) -> None:
    assert sanitize_filename(name) == safe


def test_titles_lose_control_and_bidi_characters() -> None:
    assert clean_text("  A\u202eB\tC\n\x00D\u2067E\u2069 ") == "A B C D E"
    assert clean_text("فیلم \u200fخوب") == "فیلم خوب"


def test_filename_sources() -> None:
    cd = "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    assert filename_from_response("https://h/x", cd, None) == "résumé.pdf"
    assert filename_from_response("https://h/dl/song%20one", None, "audio/mpeg") == "song one.mp3"
    assert filename_from_response("https://h/", None, None) == "download"


@pytest.mark.parametrize(
    ("header", "name"),
    [
        # RFC 6266: filename* wins over filename, whichever comes first.
        (
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''%D8%B1%D8%A7%D9%BE.pdf",
            "راپ.pdf",
        ),
        ("attachment; filename*=UTF-8''%D8%B1.pdf; filename=\"r.pdf\"", "ر.pdf"),
        ("inline; filename*=iso-8859-1'en'%A3%20rates.txt", "£ rates.txt"),
        # An undecodable or unknown-charset filename* falls back to filename.
        ("attachment; filename*=UTF-8''%FF%FE.pdf; filename=x.pdf", "x.pdf"),
        ("attachment; filename*=nonsense''a.pdf; filename=y.pdf", "y.pdf"),
        ('attachment; filename="say \\"hi\\".txt"', 'say "hi".txt'),
        ("attachment; FILENAME=upper.txt", "upper.txt"),
        ("attachment", None),
    ],
)
def test_content_disposition_names(header: str, name: str | None) -> None:
    assert disposition_filename(header) == name


def test_unique_path_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").write_bytes(b"1")
    (tmp_path / "a (2).mp4").write_bytes(b"2")
    assert unique_path(tmp_path, "a.mp4").name == "a (3).mp4"
