"""The admins' notice of links about to be purged, and splitting long HTML into messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.history.texts import ICONS, mention, url_text, when
from bot.i18n import Translator
from bot.store.links import LinkRecord
from bot.store.users import UserRecord

TEXT_LIMIT = 4096  # Telegram's limit for one message, in UTF-16 code units


@dataclass(frozen=True, slots=True)
class UserLinks:
    """One user's links in the expiry notice; `user` is None for a user the bot never stored."""

    user_id: int
    user: UserRecord | None
    links: tuple[LinkRecord, ...]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def expiry_notice(
    tr: Translator,
    zone: ZoneInfo,
    groups: Sequence[UserLinks],
    hours: int,
    limit: int = TEXT_LIMIT,
) -> list[str]:
    """The admins' notice of links about to be purged, split into messages of `limit`."""
    count = sum(len(g.links) for g in groups)
    within = tr.ngettext(
        "🗑 Links to be purged within {n} hour", "🗑 Links to be purged within {n} hours", hours
    )
    users = tr.ngettext("{n} user", "{n} users", len(groups))
    header = [
        f"<b>{within}</b>",
        tr.ngettext("{n} link of {users}.", "{n} links of {users}.", count, users=users),
    ]
    blocks = [header]
    # A busy bot's day is thousands of links in 1,440 minutes: each minute is written once.
    minutes: dict[dt.datetime, str] = {}

    def at(moment: dt.datetime) -> str:
        minute = moment.replace(second=0, microsecond=0)
        if minute not in minutes:
            minutes[minute] = when(tr, zone, minute)
        return minutes[minute]

    for group in groups:
        lines = [tr.line("👤 " + mention(tr, group.user_id, group.user))]
        lines += [
            tr.line(f"• {at(link.created_at)} {ICONS[link.outcome]} " + url_text(tr, link.url))
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
