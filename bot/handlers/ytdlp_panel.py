"""The admin panel's yt-dlp page: the version in use, its JavaScript runtime, YTDLP_UPDATE,
and a button that updates it (staged, self-tested, then used)."""

from __future__ import annotations

import asyncio
import html

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.config.ytdlp_stage import active_stage
from bot.download.jsruntime import package_version
from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.guards import admin_only
from bot.i18n import Translator
from bot.telegram_io.chat import Buttons

UPDATE = "adm:ytup"


def ytdlp_view(
    tr: Translator, version: str, staged: bool, runtime: str, mode: str
) -> tuple[str, Buttons]:
    where = tr("staged by an update") if staged else tr("installed with the code")
    lines = [
        "<b>" + tr("🔄 yt-dlp") + "</b>",
        tr.line(tr("In use: {version} ({where})", version=tr.ltr(version), where=where)),
        tr.line(tr("JavaScript runtime: {runtime}", runtime=tr.ltr(html.escape(runtime)))),
        tr.ltr(f"<code>YTDLP_UPDATE</code> = {html.escape(mode)}"),
        "",
        html.escape(
            tr(
                "Update installs the newest yt-dlp from the package index, tests it, and uses it"
                " from the next start (at once when systemd runs the bot)."
            )
        ),
    ]
    return "\n".join(lines), [[(tr("⬆️ Update now"), UPDATE)]]


async def ytdlp_page(ctx: BotContext, tr: Translator, runtime: str) -> tuple[str, Buttons]:
    services = ctx.services
    staged = await asyncio.to_thread(active_stage, services.settings.data_dir) is not None
    version = package_version("yt-dlp") or "?"
    return ytdlp_view(tr, version, staged, runtime, str(services.updates.mode))


@admin_only
async def update_button(update: Update, ctx: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _, tr = await ctx.visitor(user)
    if ctx.services.updates.start((user.id,)):
        await answer(query, tr("⏳ Updating yt-dlp; a message follows when it is done."))
    else:
        await answer(query, tr("⏳ An update is already running."))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CallbackQueryHandler(update_button, pattern=rf"^{UPDATE}$"))
