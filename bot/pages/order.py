"""What a page is rendered to and within: the order, and the file it became."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.pages.decor import Decor


@dataclass(frozen=True, slots=True)
class PageOrder:
    """What to render and within what."""

    url: str
    folder: Path
    name: str  # the file's stem
    decor: Decor
    seconds: float  # PDF_TIMEOUT_SECONDS
    max_bytes: int  # the largest file worth making (what Telegram takes)


@dataclass(frozen=True, slots=True)
class Rendered:
    path: Path
    size: int
    title: str
    pdf: bool  # False: a PNG of the page, printing failed
    loaded: bool  # False: printed before the page finished loading (its deadline)
    cut: bool  # the page is taller than the picture (a PNG) or the scroll went (lazy images)
