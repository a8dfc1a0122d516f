"""Inline mode: `@bot <link>` in any chat. A link in the file_id cache is answered at once with
its file(s), by file_id; a new one with a button that opens the private chat through a deep
link whose /start fetches it (start.py), after which the same query offers the file. The gate
answered a banned or unlisted user already, with nothing."""

from __future__ import annotations

import logging

from telegram import (
    InlineQueryResult,
    InlineQueryResultCachedAudio,
    InlineQueryResultCachedDocument,
    InlineQueryResultCachedMpeg4Gif,
    InlineQueryResultCachedVideo,
    InlineQueryResultsButton,
    Update,
)
from telegram.constants import InlineQueryLimit, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, InlineQueryHandler

from bot.download.urls import find_urls
from bot.handlers.context import BotContext
from bot.i18n import N_, Translator
from bot.i18n.formats import clean_text, short_url
from bot.jobs.fetch import link_key
from bot.model.media import MediaKind
from bot.store.cache import CachedFile
from bot.upload.caption import PartOf, caption

log = logging.getLogger(__name__)

CACHED_S = 60  # Telegram may keep an answer with files this long (per user)
FETCH = N_("⬇️ Fetch it in a private chat")
HOW = N_("Paste a link after my name")
HELP_PAYLOAD = "inline"  # /start inline: the welcome
LABELS = {  # the cache's choices, in the order offered
    "best": N_("🎬 Best video"),
    "small": N_("📱 Smaller video"),
    "audio": N_("🎵 Audio only"),
    "file": N_("📄 File"),
    "all": N_("📚 All items"),
}


def inline_results(
    tr: Translator, url: str, files: dict[str, CachedFile]
) -> list[InlineQueryResult]:
    """The cached files of a link, each with a title: every format Telegram has, each part."""
    results: list[InlineQueryResult] = []
    for choice, label in LABELS.items():
        hit = files.get(choice)
        if hit is None:
            continue
        title = clean_text(hit.title or short_url(url))
        head = f"{tr(label)} · {title}"
        parts = [p for p in hit.parts if p.file_id is not None]
        if not hit.parts:
            text = caption(tr, title, hit.size, url)
            results.append(_result(f"{choice}", hit.kind, hit.file_id, head, text))
        for part in parts:
            where = PartOf(part.index, part.count, part.start, part.end)
            text = caption(tr, title, part.size, url, where)
            name = f"{head} · {part.index}/{part.count}"
            results.append(
                _result(f"{choice}-{part.index}", part.kind, part.file_id or "", name, text)
            )
    return results[: InlineQueryLimit.RESULTS]


def _result(key: str, kind: MediaKind, file_id: str, title: str, text: str) -> InlineQueryResult:
    html = ParseMode.HTML
    if kind is MediaKind.VIDEO:
        return InlineQueryResultCachedVideo(key, file_id, title, caption=text, parse_mode=html)
    if kind is MediaKind.AUDIO:
        return InlineQueryResultCachedAudio(key, file_id, caption=text, parse_mode=html)
    if kind is MediaKind.ANIMATION:
        return InlineQueryResultCachedMpeg4Gif(
            key, file_id, title=title, caption=text, parse_mode=html
        )
    return InlineQueryResultCachedDocument(key, title, file_id, caption=text, parse_mode=html)


async def inline_query(update: Update, ctx: BotContext) -> None:
    query = update.inline_query
    if query is None:
        return
    user = query.from_user
    record, tr = await ctx.visitor(user)
    urls = find_urls(query.query.strip(), [])
    results: list[InlineQueryResult] = []
    button: InlineQueryResultsButton | None
    button = InlineQueryResultsButton(tr(HOW), start_parameter=HELP_PAYLOAD)
    cache_time = 0
    if urls:
        url = urls[0]
        places = ctx.services.places
        key = link_key(url, as_file=record.settings.video_as_file)
        results = inline_results(tr, url, await places.cache.of_url(key))
        if results:
            button, cache_time = None, CACHED_S
        else:
            token = await places.inline.put(user.id, url)
            button = InlineQueryResultsButton(tr(FETCH), start_parameter=token)
    log.info("inline_answer user=%d link=%s results=%d", user.id, bool(urls), len(results))
    try:
        await query.answer(results, cache_time=cache_time, is_personal=True, button=button)
    except TelegramError as exc:  # the query is too old, or the user moved on
        log.info("inline_answer_refused user=%d error=%r", user.id, exc)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(InlineQueryHandler(inline_query))
