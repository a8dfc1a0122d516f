"""Longer fixed texts (welcome, help) and the command menu, built for a language."""

from __future__ import annotations

import html

from bot.i18n import N_, Translator

USER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("What this bot does")),
    ("help", N_("How to use it")),
    ("cancel", N_("Stop your downloads")),
    ("history", N_("Your recent links")),
    ("forget", N_("Erase your history")),
    ("language", N_("Choose the language")),
)

# Shown, after the users' commands, only in admins' chats (BotCommandScopeChat).
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("admin", N_("Admin panel: statistics, users, settings")),
    ("check", N_("A user's link history: /check USER_ID")),
    ("expiring", N_("Links to be purged soon")),
    ("ban", N_("Ban a user: /ban USER_ID")),
    ("unban", N_("Unban a user: /unban USER_ID")),
)


def welcome(tr: Translator, first_name: str, limit: str) -> str:
    return tr(
        "👋 Hi {name}!\n\nSend me a link and I'll send you the file: a video page from any site"
        " yt-dlp supports, or a direct file link. Files up to {limit} are delivered here.\n\n"
        "/help shows everything I can do.",
        name=tr.isolate(html.escape(first_name)),
        limit=limit,
    )


def help_text(tr: Translator, limit: str) -> str:
    lines = [
        tr("<b>How to use me</b>"),
        tr("• Send one link (http or https) in a message."),
        tr("• On a video page you can pick best video, a smaller video or audio only."),
        tr("• I show progress while I download; press Cancel to stop."),
        tr("• Files up to {limit}.", limit=limit),
        "",
        tr("<b>Commands</b>"),
    ]
    lines += [tr.line(f"{tr.ltr('/' + name)} — {tr(desc)}") for name, desc in USER_COMMANDS]
    return "\n".join(lines)


def not_a_link(tr: Translator) -> str:
    return tr("🔗 Send me a link (starting with http:// or https://) and I'll fetch the file.")
