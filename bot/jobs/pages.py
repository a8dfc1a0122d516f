"""The /pdf job's stages: the page printed by the browser (bot/pages), sent as a document.

The page's own address is vetted first, so a refused one is never asked for; the browser's
vetting proxy then vets everything else it fetches. The PDF (or the PNG that stands in for it
when printing failed) is never cached: a page changes, and asking again means "as it is now".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.download.files import sanitize_filename
from bot.i18n import Translator
from bot.i18n.formats import clean_text, human_datetime
from bot.jobs.events import Delivering
from bot.jobs.handover import hand_over
from bot.jobs.outcomes import Delivered, Outcome, SentFile
from bot.jobs.record import Endings
from bot.jobs.run import FileSender, JobRun
from bot.model.failures import FailureReason, FetchError
from bot.model.job import JobState
from bot.model.media import MediaInfo
from bot.pages.decor import PAGE, PAGES, Decor
from bot.pages.render import PageOrder, Rendered
from bot.store.links import LinkOutcome
from bot.store.outcomes import Ending
from bot.upload.caption import caption
from bot.upload.types import Delivery, Uploaded

log = logging.getLogger(__name__)

TITLE_CHARS = 300  # of the page's title in the caption, which has notes to carry too


class Printer(Protocol):
    """Renders a page to a file (bot/pages/render.py's Renderer)."""

    async def render(self, order: PageOrder) -> Rendered: ...


class Check(Protocol):
    """The URL guard's check of the page's own address (resolved and vetted)."""

    async def check(self, url: str, *, resolve: bool = True) -> None: ...


@dataclass(frozen=True, slots=True)
class PageConfig:
    seconds: float  # PDF_TIMEOUT_SECONDS
    zone: ZoneInfo  # the date in the header is the operator's day
    enabled: bool = True  # PDF_PAGES
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


class PageStage:
    """Prints a job's page and delivers it; the job's outcome, recorded."""

    def __init__(self, printer: Printer, guard: Check, config: PageConfig) -> None:
        self._printer = printer
        self._guard = guard
        self._cfg = config

    async def deliver(
        self, run: JobRun, folder: Path, tr: Translator, sender: FileSender, end: Endings
    ) -> Outcome:
        job = run.job
        if not self._cfg.enabled:
            raise FetchError(FailureReason.PAGES_UNAVAILABLE, "PDF_PAGES is off")
        await self._guard.check(job.url)  # before the browser asks the page for anything
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        decor = self._decor(tr, job.url)
        order = PageOrder(job.url, folder, "page", decor, self._cfg.seconds, sender.capacity)
        rendered = await self._printer.render(order)
        title = clean_text(rendered.title)[:TITLE_CHARS] or _host(job.url)
        run.events.emit(Delivering())
        run.tracker.phase("upload")
        suffix = rendered.path.suffix
        delivery = Delivery(
            job.chat_id,
            rendered.path,
            sanitize_filename(title + suffix, default="page" + suffix),
            page_caption(tr, rendered, title, job.url),
            rendered.size,
            MediaInfo(),
            job.reply_to,
            thread_id=job.thread_id,
        )
        sent = await hand_over(sender, end, run, delivery, title)
        if not isinstance(sent, Uploaded):
            return sent
        ending = Ending(JobState.DONE, LinkOutcome.DELIVERED, size=rendered.size, title=title)
        return await end.delivered(run, ending, Delivered((SentFile(sent.route, rendered.size),)))

    def _decor(self, tr: Translator, url: str) -> Decor:
        saved = human_datetime(tr, self._cfg.clock(), self._cfg.zone)
        return Decor(
            site=_host(url),
            saved=saved,
            footer=tr("Page {page} of {pages}", page=PAGE, pages=PAGES),
            numbering=tr.numbering,
            rtl=tr.rtl,
        )


def page_caption(tr: Translator, rendered: Rendered, title: str, url: str) -> str:
    """The file's caption: title, size and link, and what to know about this copy."""
    notes = []
    if not rendered.pdf:
        notes.append(
            tr("🖼 The page could not be printed, so this is a picture of its top.")
            if rendered.cut
            else tr("🖼 The page could not be printed, so this is a picture of it.")
        )
    if not rendered.loaded:
        notes.append(
            tr("⏱ The page had not finished loading by its deadline: this is how far it got.")
        )
    text = caption(tr, title, rendered.size, url)
    return "\n".join([text, *(html.escape(note) for note in notes)])


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    try:
        return host.encode("ascii").decode("idna")
    except UnicodeError:
        return host
