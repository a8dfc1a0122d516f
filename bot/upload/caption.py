"""The caption a delivered file carries: its title, its size and a link back to the source."""

from __future__ import annotations

import html

from bot.i18n import Translator
from bot.i18n.formats import clean_text, human_size, short_url

CAPTION_LIMIT = 1024


def caption(tr: Translator, title: str, size: int | None, url: str) -> str:
    """Title, size and a link back to the source, within Telegram's 1024 characters.

    Titles come from pages (and from the cache, written by older versions too): control and
    bidi characters are taken out here, where the caption is made, whatever their source.
    """
    title = clean_text(title)
    size_text = human_size(tr, size) if size else ""
    shown = tr.ltr(html.escape(clean_text(short_url(url, 40))))
    link = f'<a href="{html.escape(url, quote=True)}">{shown}</a>'
    tail = tr.line(" · ".join(p for p in (size_text, link) if p))
    budget = CAPTION_LIMIT - len(tail) - 10
    clipped = title if len(title) <= budget else title[: max(0, budget - 1)] + "…"
    head = tr.line(tr.isolate(html.escape(clipped)))
    return f"<b>{head}</b>\n{tail}" if clipped else tail
