"""The caption a delivered file carries: its title, its size and a link back to the source."""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.i18n import Translator
from bot.i18n.formats import clean_text, clock_time, human_size, short_url

CAPTION_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class PartOf:
    """Which part of a file a message carries: `index` of `count`, and for media its time range
    in seconds (`end` None: to the end)."""

    index: int
    count: int
    start: float | None = None
    end: float | None = None
    duration: float | None = None  # the whole file's, for the last part's range


def part_line(tr: Translator, part: PartOf) -> str:
    """ "Part 2 of 5 · 0:45–1:30" """
    head = tr(
        "Part {index} of {count}",
        index=tr.number(part.index, 0),
        count=tr.number(part.count, 0),
    )
    end = part.end if part.end is not None else part.duration
    if part.start is None or end is None:
        return tr.line(head)
    span = tr.ltr(f"{clock_time(tr, part.start)}–{clock_time(tr, end)}")
    return tr.line(f"{head} · {span}")


def caption(
    tr: Translator, title: str, size: int | None, url: str, part: PartOf | None = None
) -> str:
    """Title, size and a link back to the source, within Telegram's 1024 characters.

    Titles come from pages (and from the cache, written by older versions too): control and
    bidi characters are taken out here, where the caption is made, whatever their source.
    """
    title = clean_text(title)
    size_text = human_size(tr, size) if size else ""
    shown = tr.ltr(html.escape(clean_text(short_url(url, 40))))
    link = f'<a href="{html.escape(url, quote=True)}">{shown}</a>'
    tail = tr.line(" · ".join(p for p in (size_text, link) if p))
    if part is not None:
        tail = f"{part_line(tr, part)}\n{tail}"
    budget = CAPTION_LIMIT - len(tail) - 10
    clipped = title if len(title) <= budget else title[: max(0, budget - 1)] + "…"
    head = tr.line(tr.isolate(html.escape(clipped)))
    return f"<b>{head}</b>\n{tail}" if clipped else tail
