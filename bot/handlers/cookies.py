"""Cookies from Telegram: the admin panel's list (sites, expiry), a removal button per file, and
a cookies.txt sent as a document to add one. Never a cookie's value, in the chat or the log."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.download.cookies import MAX_COOKIES_BYTES, CookieFile, CookieFormatError
from bot.handlers.admin_panel import panel_buttons
from bot.handlers.common import answer, edit_html
from bot.handlers.context import BotContext
from bot.handlers.guards import admin_only
from bot.i18n import Translator
from bot.i18n.formats import human_datetime
from bot.telegram_io.chat import Buttons
from bot.telegram_io.ui import keyboard

log = logging.getLogger(__name__)

REMOVE = "adm:ckrm:"


def file_line(tr: Translator, name: str, info: CookieFile | None, zone: dt.tzinfo) -> str:
    if info is None:
        return tr("• {name}: not a Netscape cookies file, unused", name=html.escape(name))
    sites = html.escape(", ".join(info.sites[:5]) + (", …" if len(info.sites) > 5 else ""))
    count = tr.ngettext("{n} cookie", "{n} cookies", info.cookies)
    if info.expires is None:
        when = tr("session cookies only")
    else:
        when = tr("first expires {when}", when=human_datetime(tr, info.expires, zone))
    return f"• {html.escape(name)}: {sites} · {count} · {when}"


def cookies_view(
    tr: Translator,
    files: list[tuple[str, CookieFile | None]],
    fallback: bool,
    zone: dt.tzinfo,
) -> tuple[str, Buttons]:
    """The panel's cookies page: each file with its sites and expiry, a button to remove it."""
    lines = ["<b>" + tr("🍪 Cookies") + "</b>"]
    lines += [tr.line(file_line(tr, name, info, zone)) for name, info in files]
    if not files:
        lines.append(tr("No cookies files yet."))
    state = tr("set: used for sites without a file here") if fallback else tr("not set")
    lines += [
        tr.ltr(f"<code>YTDLP_COOKIES</code> = {html.escape(state)}"),
        "",
        html.escape(
            tr(
                "Send a cookies file (Netscape format, cookies.txt, at most 1 MB) here as a"
                " document to add it. A site's files are used in turn when one is refused."
            )
        ),
    ]
    buttons = [[(tr("🗑 {name}", name=name), REMOVE + name)] for name, _ in files]
    return "\n".join(lines), buttons


def saved_text(tr: Translator, info: CookieFile, zone: dt.tzinfo) -> str:
    return tr("✅ Cookies saved.") + "\n" + tr.line(file_line(tr, info.name, info, zone))


async def cookies_page(ctx: BotContext, tr: Translator) -> tuple[str, Buttons]:
    """The cookies page as it stands (the files are read in the I/O pool)."""
    services = ctx.services
    found = await asyncio.to_thread(services.cookies.files)
    files = [(path.name, info) for path, info in found]
    fallback = services.settings.ytdlp_cookies is not None
    return cookies_view(tr, files, fallback, services.settings.zone)


@admin_only
async def cookies_upload(update: Update, ctx: BotContext) -> None:
    """A document from an admin: a cookies file to add (checked, 0600, never echoed)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.document is None:
        return
    _, tr = await ctx.visitor(user)
    size = message.document.file_size
    if size is None or size > MAX_COOKIES_BYTES:
        log.info("cookies_refused_upload user=%d why=size size=%s", user.id, size)
        await message.reply_text(tr("❌ That file is larger than 1 MB. Nothing was saved."))
        return
    data = await (await ctx.bot.get_file(message.document.file_id)).download_as_bytearray()
    try:
        info = await asyncio.to_thread(ctx.services.cookies.add, bytes(data))
    except CookieFormatError as exc:
        log.info("cookies_refused_upload user=%d why=%s", user.id, exc)
        await message.reply_text(
            tr(
                "❌ That is not a Netscape cookies file (cookies.txt: seven tab-separated fields"
                " a line). Nothing was saved."
            )
        )
        return
    zone = ctx.services.settings.zone
    await message.reply_html(saved_text(tr, info, zone))
    try:  # the file holds a login: it need not stay in the chat
        await message.delete()
    except TelegramError as exc:
        log.info("cookies_message_kept error=%s", exc.message)


@admin_only
async def cookies_remove(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, tr = await ctx.visitor(user)
    name = query.data.removeprefix(REMOVE)
    removed = await asyncio.to_thread(ctx.services.cookies.remove, name)
    text, buttons = await cookies_page(ctx, tr)
    await edit_html(query, text, keyboard(buttons + panel_buttons(tr)))
    await answer(query, tr("🗑 Removed {name}.", name=name) if removed else None)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL, cookies_upload)
    )
    pattern = r"^adm:ckrm:[A-Za-z0-9][A-Za-z0-9._-]{0,45}\.txt$"
    app.add_handler(CallbackQueryHandler(cookies_remove, pattern=pattern))
