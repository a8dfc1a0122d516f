"""How links read: a page of /history (or /check), and the parts other lists reuse (the
outcome icons, a failure's short label, a user's mention)."""

from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

from bot.history.pages import HistoryPage
from bot.i18n import N_, Translator
from bot.i18n.formats import human_datetime, human_size, number, short_url
from bot.model.failures import FailureReason
from bot.store.links import LinkOutcome, LinkRecord
from bot.store.users import UserRecord
from bot.telegram_io.chat import Buttons

TITLE_WIDTH = 80

ICONS: dict[LinkOutcome, str] = {
    LinkOutcome.PENDING: "⏳",
    LinkOutcome.DELIVERED: "✅",
    LinkOutcome.UNCONFIRMED: "📨",
    LinkOutcome.FAILED: "❌",
    LinkOutcome.CANCELLED: "✖️",
}

REASONS: dict[FailureReason, str] = {
    FailureReason.INVALID_URL: N_("not a valid link"),
    FailureReason.BLOCKED_URL: N_("address not allowed"),
    FailureReason.DNS: N_("site not found"),
    FailureReason.CONNECTION: N_("site unreachable"),
    FailureReason.CONNECTION_LOST: N_("connection broke off"),
    FailureReason.TLS: N_("secure connection failed"),
    FailureReason.REDIRECTS: N_("too many redirects"),
    FailureReason.HTTP_STATUS: N_("the site answered with an error"),
    FailureReason.RATE_LIMITED: N_("too many requests to the site"),
    FailureReason.BOT_CHECK: N_("the site's bot check"),
    FailureReason.FORMAT_UNAVAILABLE: N_("format not available"),
    FailureReason.TIMEOUT: N_("took too long"),
    FailureReason.LOGIN_REQUIRED: N_("needs a login"),
    FailureReason.GEO_BLOCKED: N_("not offered in the bot's country"),
    FailureReason.UNAVAILABLE: N_("no longer available"),
    FailureReason.UPCOMING: N_("not started yet"),
    FailureReason.BAD_ENCODING: N_("unreadable compression"),
    FailureReason.TOO_LARGE: N_("file too large"),
    FailureReason.TOO_LARGE_FOR_TELEGRAM: N_("too large for Telegram"),
    FailureReason.PAGE_TOO_LARGE: N_("page too large"),
    FailureReason.NO_MEDIA: N_("no video or audio found"),
    FailureReason.UNSUPPORTED: N_("not supported"),
    FailureReason.PROCESSING: N_("could not be put together"),
    FailureReason.EMPTY: N_("empty file"),
    FailureReason.UPLOAD_FAILED: N_("Telegram refused the file"),
    FailureReason.CHAT_UNAVAILABLE: N_("chat unavailable"),
    FailureReason.INTERRUPTED: N_("interrupted"),
    FailureReason.CRASHED: N_("the bot stopped unexpectedly"),
    FailureReason.DISK_FULL: N_("server disk full"),
    FailureReason.NOT_SPLIT: N_("too large, and not sent in parts"),
    FailureReason.SPLIT_FAILED: N_("too large, and could not be cut into parts"),
    FailureReason.RENDER_FAILED: N_("the page could not be printed"),
    FailureReason.PAGES_UNAVAILABLE: N_("PDFs unavailable"),
    FailureReason.INTERNAL: N_("internal error"),
}


def when(tr: Translator, zone: ZoneInfo, moment: dt.datetime) -> str:
    return human_datetime(tr, moment, zone)


def url_text(tr: Translator, url: str) -> str:
    return tr.ltr(html.escape(short_url(url)))


def reason_label(tr: Translator, reason: str | None) -> str:
    """A failure's short label; a reason this version does not know (none recorded, or one
    a newer version wrote) is "another reason", never the stored word."""
    try:
        return tr(REASONS[FailureReason(reason or "")])
    except (ValueError, KeyError):
        return tr("another reason")


def mention(tr: Translator, user_id: int, user: UserRecord | None) -> str:
    """The user as an HTML mention, with @username and id: `Ada @ada · 1001`."""
    name = html.escape(user.first_name) if user and user.first_name else str(user_id)
    text = f'<a href="tg://user?id={user_id}">{tr.isolate(name)}</a>'
    if user and user.username:
        text += " " + tr.ltr(f"@{html.escape(user.username)}")
    return f"{text} · <code>{user_id}</code>"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def files_label(tr: Translator, link: LinkRecord) -> str:
    """How many files a link went in, when more than one: a playlist's items or a file's parts."""
    if link.playlist:
        return tr.ngettext("{n} file", "{n} files", link.files)
    return tr.ngettext("in {n} part", "in {n} parts", link.files)


def history_entry(tr: Translator, zone: ZoneInfo, link: LinkRecord) -> str:
    head = f"{ICONS[link.outcome]} {when(tr, zone, link.created_at)} · {url_text(tr, link.url)}"
    if link.outcome in (LinkOutcome.DELIVERED, LinkOutcome.UNCONFIRMED):
        details = [tr.isolate(html.escape(_clip(link.title, TITLE_WIDTH)))] if link.title else []
        if link.size:
            details.append(human_size(tr, link.size))
        if link.files > 1:
            details.append(files_label(tr, link))
        if link.outcome is LinkOutcome.UNCONFIRMED:
            details.append(tr("sent, not confirmed by Telegram"))
        detail = " · ".join(details)
    elif link.outcome is LinkOutcome.FAILED:
        detail = reason_label(tr, link.reason)
    elif link.outcome is LinkOutcome.CANCELLED:
        detail = tr("cancelled")
    else:
        detail = tr("in progress")
    if not detail:
        return tr.line(head)
    return tr.line(head) + "\n      " + tr.line(f"<i>{detail}</i>")


def history_text(
    tr: Translator,
    zone: ZoneInfo,
    page: HistoryPage,
    retention_days: int,
    owner: str | None = None,
) -> str:
    """A page of history; `owner` (an HTML mention) when an admin looks at someone else's."""
    title = tr("📜 Links of {user}", user=owner) if owner else tr("📜 Your links")
    if not page.records:
        empty = (
            tr("No links in the history.") if owner else tr("You have no links in your history.")
        )
        return f"<b>{title}</b>\n\n{empty}"
    shown, pages = number(tr, page.page + 1, 0), number(tr, page.pages, 0)
    lines = [
        f"<b>{title}</b>",
        tr.ngettext(
            "Page {page} of {pages}, {n} link in all.",
            "Page {page} of {pages}, {n} links in all.",
            page.total,
            page=shown,
            pages=pages,
        ),
        "",
    ]
    lines += [history_entry(tr, zone, link) for link in page.records]
    kept = tr.ngettext("Links are kept {n} day.", "Links are kept {n} days.", retention_days)
    lines += ["", f"<i>{kept}</i>"]
    return "\n".join(lines)


def history_buttons(tr: Translator, page: HistoryPage) -> Buttons | None:
    row: list[tuple[str, str]] = []
    if page.has_prev:
        row.append((tr("◀️ Newer"), f"hist:{page.user_id}:{page.page - 1}"))
    if page.has_next:
        row.append((tr("Older ▶️"), f"hist:{page.user_id}:{page.page + 1}"))
    return [row] if row else None
