"""What a job shows in the chat: the format question, the Cancel button, the file's caption."""

from __future__ import annotations

import html

from bot.download.files import clean_text
from bot.download.ytdlp import PageInfo
from bot.i18n import Translator
from bot.jobs.ui import Buttons
from bot.render import human_size, number, short_url

CAPTION_LIMIT = 1024


def cancel_buttons(tr: Translator, job_id: int) -> Buttons:
    return [[(tr("✖️ Cancel"), f"cancel:{job_id}")]]


def choice_prompt(
    tr: Translator, job_id: int, url: str, page: PageInfo, seconds: float
) -> tuple[str, Buttons]:
    """The question asked on a media page, with one button per format and Cancel."""
    size = f" ({human_size(tr, page.estimated_size)})" if page.estimated_size else ""
    text = tr(
        "🎞 <b>{title}</b>{size}\nWhat would you like? Best video is sent in {seconds} s.",
        title=tr.isolate(html.escape(clean_text(page.title or short_url(url)))),
        size=size,
        seconds=number(tr, seconds, 0),
    )
    buttons = [
        [
            (tr("🎬 Best video"), f"fmt:{job_id}:best"),
            (tr("📱 Smaller video"), f"fmt:{job_id}:small"),
        ],
        [
            (tr("🎵 Audio only"), f"fmt:{job_id}:audio"),
            (tr("✖️ Cancel"), f"cancel:{job_id}"),
        ],
    ]
    return text, buttons


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


def unconfirmed_text(tr: Translator) -> str:
    """After a send whose answer was lost: the file is most likely there; it is not sent twice."""
    return tr(
        "📨 The file was sent, but Telegram did not confirm it. It should be in this chat;"
        " if it is not, send the link again."
    )
