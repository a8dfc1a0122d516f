"""The printed page's frame: A4, the site in the header, "page X of Y" in the footer.

Drawn by the browser's own CSS page-margin boxes, not by a header template: the page counters
there take a counter style, so a Persian reader gets "صفحهٔ ۳ از ۱۲" in Persian digits, which
Chromium's header and footer templates (Latin digits only) cannot give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Babel's numbering systems -> CSS counter styles.
COUNTER_STYLES = {"latn": "decimal", "arabext": "persian", "arab": "arabic-indic"}
PAGE, PAGES = "\x00page\x00", "\x00pages\x00"  # where the counters go in the footer's text
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\\"]")


@dataclass(frozen=True, slots=True)
class Decor:
    """What frames each printed page, already in the reader's language."""

    site: str  # the header's start: the page's host
    saved: str  # the header's end: when it was saved, in the reader's calendar
    footer: str  # "Page {PAGE} of {PAGES}" with the PAGE and PAGES markers
    numbering: str = "latn"  # the reader's digits, as Babel names the system
    rtl: bool = False


def stylesheet(decor: Decor) -> str:
    """The CSS added to the page before it is printed (last, and !important where it counts,
    so the page's own @page rules do not take the frame away)."""
    style = COUNTER_STYLES.get(decor.numbering, "decimal")
    start, end = ("right", "left") if decor.rtl else ("left", "right")
    direction = "rtl" if decor.rtl else "ltr"
    box = f"font: 9px sans-serif; color: #555; direction: {direction};"
    return (
        "@page {"
        " size: A4 !important; margin: 16mm 12mm 16mm 12mm !important;"
        f" @top-{start} {{ content: {_string(decor.site)}; {box} }}"
        f" @top-{end} {{ content: {_string(decor.saved)}; {box} }}"
        f" @bottom-center {{ content: {_footer(decor.footer, style)}; {box} }}"
        " }"
    )


def _footer(text: str, style: str) -> str:
    """The footer's text as a CSS content value, the counters where the markers stand."""
    parts: list[str] = []
    for piece in re.split(f"({PAGE}|{PAGES})", text):
        if piece == PAGE:
            parts.append(f"counter(page, {style})")
        elif piece == PAGES:
            parts.append(f"counter(pages, {style})")
        elif piece:
            parts.append(_string(piece))
    return " ".join(parts) or '""'


def _string(text: str) -> str:
    """A CSS string: quotes, backslashes and control characters cannot end or bend it."""
    return '"' + _UNSAFE.sub(lambda m: f"\\{ord(m.group()):x} ", text) + '"'
