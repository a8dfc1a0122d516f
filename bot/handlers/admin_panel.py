"""Pure functions for the admin panel: statistics, recent users, the settings in force."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from urllib.parse import urlsplit

from bot.config.limits import MTPROTO_UPLOAD_LIMIT, FileLimit, Route, file_limit
from bot.config.settings import Settings
from bot.history.texts import mention, reason_label
from bot.i18n import N_, Translator
from bot.i18n.formats import human_datetime, human_size, number
from bot.store.stats import Stats
from bot.store.users import UserRecord
from bot.telegram_io.chat import Buttons

PANEL_VIEWS = ("stats", "users", "settings", "cookies", "ytdlp")


def panel_buttons(tr: Translator) -> Buttons:
    return [
        [
            (tr("📊 Statistics"), "adm:stats"),
            (tr("👥 Users"), "adm:users"),
            (tr("⚙️ Settings"), "adm:settings"),
        ],
        [(tr("🍪 Cookies"), "adm:cookies"), (tr("🔄 yt-dlp"), "adm:ytdlp")],
    ]


# One line per kind of link: what it counts, over three spans.
_ROW = N_("{what}: {today} today, {week} in 7 days, {total} in total")
_ROUTES = {
    Route.BOT_API: N_("the public Bot API"),
    Route.LOCAL_BOT_API: N_("a local Bot API server"),
    Route.MTPROTO: N_("MTProto uploads"),
}


def stats_text(tr: Translator, stats: Stats, running: int, queued: int, days: int) -> str:
    def n(value: int) -> str:
        return number(tr, value, 0)

    lines = [
        "<b>" + tr("📊 Statistics") + "</b>",
        tr(
            "Users: {users} (active: {day} in 24 h, {week} in 7 days; banned: {banned})",
            users=n(stats.users),
            day=n(stats.active_day),
            week=n(stats.active_week),
            banned=n(stats.banned),
        ),
        "",
    ]
    rows = (
        (N_("📥 Links received"), stats.received),
        (N_("✅ Delivered"), stats.delivered),
        (N_("❌ Failed"), stats.failed),
        (N_("✖️ Cancelled"), stats.cancelled),
    )
    for label, counts in rows:
        lines.append(
            tr(
                _ROW,
                what=tr(label),
                today=n(counts.today),
                week=n(counts.week),
                total=n(counts.total),
            )
        )
    lines += [
        tr("⏳ In progress: {n}", n=n(stats.in_progress)),
        tr("📦 Sent in total: {size}", size=human_size(tr, stats.bytes_delivered)),
        tr("Queue now: {running} running, {queued} waiting", running=n(running), queued=n(queued)),
        "",
    ]
    if stats.failures:
        lines.append(
            tr.ngettext(
                "Failures in the last {n} day, by reason:",
                "Failures in the last {n} days, by reason:",
                days,
            )
        )
        lines += [f"• {reason_label(tr, reason)}: {n(count)}" for reason, count in stats.failures]
    else:
        lines.append(
            tr.ngettext(
                "No failures in the last {n} day.", "No failures in the last {n} days.", days
            )
        )
    return "\n".join(tr.line(line) if line else line for line in lines)


def users_text(tr: Translator, users: Sequence[UserRecord], zone: dt.tzinfo) -> str:
    lines = ["<b>" + tr("👥 Recent users") + "</b>"]
    if not users:
        lines.append(tr("No users yet."))
    for user in users:
        seen = human_datetime(tr, user.last_seen, zone)
        line = f"• {mention(tr, user.user_id, user)} · {seen}"
        if user.banned:
            line += " · 🚫 " + tr("banned")
        lines.append(tr.line(line))
    return "\n".join(lines)


def large_files_text(tr: Translator, limit: FileLimit) -> str:
    """The largest file users get, and (to admins only) how to send larger ones."""
    largest = tr("📦 Largest file: {limit}.", limit=human_size(tr, limit.size))
    if limit.large_files:
        route = tr(_ROUTES[limit.route])
        return largest + " " + tr("Large files: on, through {route}.", route=route)
    advice = tr(
        "Large files: off; set API_ID and API_HASH (or run a local Bot API server) to send files"
        " up to {most}.",
        most=human_size(tr, MTPROTO_UPLOAD_LIMIT),
    )
    return f"{largest} {advice}"


def _on(tr: Translator, value: bool) -> str:
    return tr("on") if value else tr("off")


def _set(tr: Translator, value: object) -> str:
    return tr("set") if value else tr("not set")


def _ids(tr: Translator, ids: frozenset[int] | None) -> str:
    if ids is None:
        return tr("anyone")
    return ", ".join(str(i) for i in sorted(ids)) or tr("none")


def _host(url: str) -> str:
    """Scheme, host and port only: a URL may carry credentials in its user part or path."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def settings_text(
    tr: Translator,
    settings: Settings,
    last_run: dt.datetime | None,
    next_run: dt.datetime,
) -> str:
    """The settings in force, without secrets: the token, API_HASH and proxy URLs never show."""
    values: list[tuple[str, str]] = [
        ("TELEGRAM_API_URL", _host(settings.telegram_api_url)),
        ("BOT_API_LOCAL_MODE", _on(tr, settings.bot_api_local_mode)),
        ("API_ID / API_HASH", _set(tr, settings.mtproto_enabled)),
        ("PROXY_URL", _set(tr, settings.proxy_url)),
        ("DOWNLOAD_PROXY_URL", _set(tr, settings.download_proxy_url)),
        ("ADMIN_IDS", _ids(tr, settings.admin_ids)),
        ("ALLOWED_USERS", _ids(tr, settings.allowed_users)),
        ("GROUPS", settings.groups.value),
        ("ALLOWED_CHATS", _ids(tr, settings.allowed_chats)),
        ("RATE_LIMIT_PER_MINUTE", str(settings.rate_limit_per_minute)),
        ("MAX_FILE_SIZE_MB", str(settings.max_file_size_mb)),
        ("MAX_PAGE_MB", str(settings.max_page_mb)),
        ("DOWNLOAD_WORKERS", str(settings.download_workers)),
        ("MAX_JOBS_PER_USER", str(settings.max_jobs_per_user)),
        ("MAX_QUEUED_JOBS", str(settings.max_queued_jobs)),
        ("JOB_TIMEOUT_SECONDS", f"{settings.job_timeout_seconds:g}"),
        ("CHOICE_TIMEOUT_SECONDS", f"{settings.choice_timeout_seconds:g}"),
        ("ALLOW_PRIVATE_URLS", _on(tr, settings.allow_private_urls)),
        ("YTDLP_COOKIES", _set(tr, settings.ytdlp_cookies)),
        ("LINK_RETENTION_DAYS", str(settings.link_retention_days)),
        ("EXPIRY_NOTICE_HOURS", str(settings.expiry_notice_hours)),
        ("DAILY_JOB_TIME", settings.daily_job_time.isoformat("minutes")),
        ("TZ", settings.tz),
        ("HEALTH_PORT", str(settings.health_port) if settings.health_port else tr("off")),
        ("LOG_LEVEL", settings.log_level),
    ]
    lines = ["<b>" + tr("⚙️ Settings in force") + "</b>"]
    lines += [tr.line(large_files_text(tr, file_limit(settings))), ""]
    lines += [tr.ltr(f"<code>{name}</code> = {html.escape(value)}") for name, value in values]
    zone = settings.zone
    last = human_datetime(tr, last_run, zone) if last_run else tr("never")
    lines += [
        "",
        tr.line(
            tr(
                "Daily job: last run {last}, next {next}",
                last=last,
                next=human_datetime(tr, next_run, zone),
            )
        ),
    ]
    return "\n".join(lines)
