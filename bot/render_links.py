"""Pure functions for link texts: history pages, the expiry notice, and splitting long HTML."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.history import HistoryPage
from bot.i18n import N_, Translator
from bot.jobs.ui import Buttons
from bot.model.failures import FailureReason
from bot.render import human_datetime, human_size, number, short_url
from bot.store.links import LinkOutcome, LinkRecord
from bot.store.users import UserRecord

TEXT_LIMIT = 4096  # Telegram's limit for one message, in UTF-16 code units
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
    FailureReason.HTTP_STATUS: N_("the site answered with an error"),
    FailureReason.TIMEOUT: N_("took too long"),
    FailureReason.TOO_LARGE: N_("file too large"),
    FailureReason.TOO_LARGE_FOR_TELEGRAM: N_("too large for Telegram"),
    FailureReason.PAGE_TOO_LARGE: N_("page too large"),
    FailureReason.NO_MEDIA: N_("no video or audio found"),
    FailureReason.UNSUPPORTED: N_("not supported"),
    FailureReason.EMPTY: N_("empty file"),
    FailureReason.UPLOAD_FAILED: N_("Telegram refused the file"),
    FailureReason.CHAT_UNAVAILABLE: N_("chat unavailable"),
    FailureReason.INTERRUPTED: N_("interrupted"),
    FailureReason.CRASHED: N_("the bot stopped unexpectedly"),
    FailureReason.DISK_FULL: N_("server disk full"),
    FailureReason.INTERNAL: N_("internal error"),
}


@dataclass(frozen=True, slots=True)
class UserLinks:
    """One user's links in the expiry notice; `user` is None for a user the bot never stored."""

    user_id: int
    user: UserRecord | None
    links: tuple[LinkRecord, ...]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def when(tr: Translator, zone: ZoneInfo, moment: dt.datetime) -> str:
    return human_datetime(tr, moment, zone)


def url_text(tr: Translator, url: str) -> str:
    return tr.ltr(html.escape(short_url(url)))


def reason_label(tr: Translator, reason: str | None) -> str:
    try:
        return tr(REASONS[FailureReason(reason or "")])
    except ValueError:
        return html.escape(reason or "?")


def mention(tr: Translator, user_id: int, user: UserRecord | None) -> str:
    """The user as an HTML mention, with @username and id: `Ada @ada · 1001`."""
    name = html.escape(user.first_name) if user and user.first_name else str(user_id)
    text = f'<a href="tg://user?id={user_id}">{tr.isolate(name)}</a>'
    if user and user.username:
        text += " " + tr.ltr(f"@{html.escape(user.username)}")
    return f"{text} · <code>{user_id}</code>"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def history_entry(tr: Translator, zone: ZoneInfo, link: LinkRecord) -> str:
    head = f"{ICONS[link.outcome]} {when(tr, zone, link.created_at)} · {url_text(tr, link.url)}"
    if link.outcome in (LinkOutcome.DELIVERED, LinkOutcome.UNCONFIRMED):
        details = [tr.isolate(html.escape(_clip(link.title, TITLE_WIDTH)))] if link.title else []
        if link.size:
            details.append(human_size(tr, link.size))
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
    lines = [
        f"<b>{title}</b>",
        tr(
            "Page {page} of {pages}, {total} links in all.",
            page=number(tr, page.page + 1, 0),
            pages=number(tr, page.pages, 0),
            total=number(tr, page.total, 0),
        ),
        "",
    ]
    lines += [history_entry(tr, zone, link) for link in page.records]
    kept = tr("Links are kept {days} days.", days=number(tr, retention_days, 0))
    lines += ["", f"<i>{kept}</i>"]
    return "\n".join(lines)


def history_buttons(tr: Translator, page: HistoryPage) -> Buttons | None:
    row: list[tuple[str, str]] = []
    if page.has_prev:
        row.append((tr("◀️ Newer"), f"hist:{page.user_id}:{page.page - 1}"))
    if page.has_next:
        row.append((tr("Older ▶️"), f"hist:{page.user_id}:{page.page + 1}"))
    return [row] if row else None


def expiry_notice(
    tr: Translator,
    zone: ZoneInfo,
    groups: Sequence[UserLinks],
    hours: int,
    limit: int = TEXT_LIMIT,
) -> list[str]:
    """The admins' notice of links about to be purged, split into messages of `limit`."""
    count = sum(len(g.links) for g in groups)
    header = [
        "<b>" + tr("🗑 Links to be purged within {hours} h", hours=number(tr, hours, 0)) + "</b>",
        tr(
            "{links} links of {users} users.",
            links=number(tr, count, 0),
            users=number(tr, len(groups), 0),
        ),
    ]
    blocks = [header]
    for group in groups:
        lines = [tr.line("👤 " + mention(tr, group.user_id, group.user))]
        lines += [
            tr.line(
                f"• {when(tr, zone, link.created_at)} {ICONS[link.outcome]} "
                + url_text(tr, link.url)
            )
            for link in group.links
        ]
        blocks.append(lines)
    return split_blocks(
        blocks, limit, lambda heading: tr("{heading} (continued)", heading=heading)
    )


def split_blocks(
    blocks: Sequence[Sequence[str]],
    limit: int = TEXT_LIMIT,
    continued: Callable[[str], str] = lambda heading: heading,
) -> list[str]:
    """Pack blocks of lines into messages of at most `limit` UTF-16 units.

    Every line is whole HTML (its tags closed), so cutting only between lines never breaks a
    tag or an entity. A block stays in one message when it fits; a block larger than a message
    is cut between lines, and the next message starts with `continued(block[0])`.
    """
    parts: list[list[str]] = []
    current: list[str] = []

    def fits(lines: Sequence[str]) -> bool:
        return utf16_len("\n".join(lines)) <= limit

    def flush() -> None:
        nonlocal current
        if current:
            parts.append(current)
        current = []

    for block in blocks:
        if not block:
            continue
        joined = [*current, "", *block] if current else list(block)
        if fits(joined):
            current = joined
            continue
        flush()
        if fits(block):
            current = list(block)
            continue
        heading = block[0]
        for line in block:
            if not fits([line]):
                raise ValueError(f"a line of {utf16_len(line)} units exceeds {limit}")
            if current and not fits([*current, line]):
                flush()
                current = [continued(heading)]
                if not fits([*current, line]):
                    current = []
            current.append(line)
    flush()
    return ["\n".join(part) for part in parts]
