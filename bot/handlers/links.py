"""A message with links starts one download per link; one answer says what was taken and what
was not. A message without a link is told what the bot expects (in a private chat: a group
where /autodl is on hears nothing about its other messages)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, MessageHandler, filters

from bot.handlers.context import BotContext
from bot.handlers.message_links import IncomingLinks, asks_for_pdf, links_of, thread_of
from bot.handlers.refusals import NO_LINK, LinkRules, NotTaken, not_taken_text
from bot.i18n import Translator
from bot.i18n.formats import short_url
from bot.jobs.engine import Admission
from bot.model.job import FormatChoice, JobPrefs
from bot.store.users import UserRecord
from bot.telegram_io.ui import NO_PREVIEW

log = logging.getLogger(__name__)

NOT_TAKEN: dict[Admission, NotTaken] = {
    Admission.USER_LIMIT: NotTaken.USER_LIMIT,
    Admission.QUEUE_FULL: NotTaken.QUEUE_FULL,
    Admission.STOPPING: NotTaken.STOPPING,
    Admission.UNAVAILABLE: NotTaken.UNAVAILABLE,
}
LISTED = 10  # links listed under one reason; the rest are counted

Refused = Sequence[tuple[str, NotTaken]]


async def on_message(update: Update, ctx: BotContext) -> None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    record, tr = await ctx.visitor(user)
    # The gate counted the links against the rate limit; without it, none is limited.
    incoming = ctx.links or unlimited(links_of(message))
    if not incoming.urls:
        log.info("not_a_link user=%d length=%d", user.id, len(message.text or ""))
        if chat.type == ChatType.PRIVATE:
            await message.reply_text(tr(NO_LINK))
        return
    pdf = ctx.services.settings.pdf_pages and asks_for_pdf(message)
    choice = FormatChoice.PDF if pdf else FormatChoice.AUTO
    await take_links(ctx, tr, message, record, incoming, choice)


async def take_links(
    ctx: BotContext,
    tr: Translator,
    message: Message,
    user: UserRecord,
    links: IncomingLinks,
    choice: FormatChoice,
    *,
    answer: Message | None = None,
) -> None:
    """One job per link the rate limit let through, and the one answer for them all. Each
    file replies to `answer` (the message with the links; by default `message`), in its
    forum topic; the user's /settings say the format (unless `choice` did) and how."""
    mine, user_id = user.settings, user.user_id
    if choice is FormatChoice.AUTO and mine.default_format is not None:
        choice = mine.default_format
    prefs = JobPrefs(mine.video_as_file, mine.more_note)
    where = _Where(message.chat_id, (answer or message).id, thread_of(message), prefs)
    refused = await _submit(ctx, links, user_id, where, tr.language, choice)
    log.info(
        "links user=%d found=%d refused=%d choice=%s",
        user_id,
        len(links.urls),
        len(refused),
        choice,
    )
    settings, limiter = ctx.services.settings, ctx.services.limiter
    rules = LinkRules(settings.max_jobs_per_user, limiter.per_minute, links.retry_in)
    text = links_answer(tr, len(links.urls), refused, rules)
    if text is not None:
        await message.reply_text(text, link_preview_options=NO_PREVIEW)


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a message's jobs answer: the chat, the message, the forum topic; and how."""

    chat_id: int
    reply_to: int
    thread_id: int | None
    prefs: JobPrefs


async def _submit(
    ctx: BotContext,
    incoming: IncomingLinks,
    user_id: int,
    where: _Where,
    language: str,
    choice: FormatChoice,
) -> list[tuple[str, NotTaken]]:
    """One job per link the rate limit let through; returns the links not taken, and why."""
    refused = []
    for url in incoming.allowed:
        result = await ctx.services.jobs.submit(
            user_id=user_id,
            chat_id=where.chat_id,
            url=url,
            language=language,
            reply_to=where.reply_to,
            choice=choice,
            thread_id=where.thread_id,
            prefs=where.prefs,
        )
        if result.admission is not Admission.ACCEPTED:
            refused.append((url, NOT_TAKEN[result.admission]))
    return refused + [(url, NotTaken.RATE_LIMIT) for url in incoming.over_rate]


def unlimited(urls: list[str]) -> IncomingLinks:
    return IncomingLinks(tuple(urls), len(urls))


def links_answer(tr: Translator, found: int, refused: Refused, rules: LinkRules) -> str | None:
    """The one answer to a message's links; None when its one link was taken (the download's
    own status message answers)."""
    if found == 1:
        return not_taken_text(tr, refused[0][1], rules) if refused else None
    taken = found - len(refused)
    lines = [tr.ngettext("🔗 Your message has {n} link.", "🔗 Your message has {n} links.", found)]
    if taken:
        lines.append(
            tr.ngettext(
                "✅ {n} is being fetched; its progress has a message of its own.",
                "✅ {n} are being fetched, each with a progress message of its own.",
                taken,
            )
        )
    if refused:
        lines.append(
            tr.ngettext("{n} was not taken:", "{n} were not taken:", len(refused))
            if taken
            else tr("None of them was taken:")
        )
    for why in dict.fromkeys(reason for _, reason in refused):
        urls = [url for url, reason in refused if reason is why]
        lines += ["", not_taken_text(tr, why, rules, len(urls))]
        lines += [tr.line("• " + tr.ltr(short_url(url))) for url in urls[:LISTED]]
        if len(urls) > LISTED:
            more = len(urls) - LISTED
            lines.append(tr.ngettext("…and {n} more.", "…and {n} more.", more))
    return "\n".join(lines)


def register(app: Application) -> None:  # type: ignore[type-arg]
    # Text that is not a command, and any media with a caption (a shared or forwarded post).
    # In a group the gate lets through only links posted where /autodl is on.
    app.add_handler(
        MessageHandler((filters.TEXT & ~filters.COMMAND) | filters.CAPTION, on_message)
    )
