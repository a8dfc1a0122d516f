"""Which groups the bot works in (GROUPS, ALLOWED_CHATS): decided here, asked by the gate."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.settings import Groups
from bot.store.groups import GroupRecord


@dataclass(frozen=True, slots=True)
class GroupRules:
    mode: Groups
    allowed_chats: frozenset[int]
    admin_ids: frozenset[int]

    @property
    def enabled(self) -> bool:
        return self.mode is not Groups.OFF

    def allows(self, chat_id: int, record: GroupRecord | None) -> bool:
        """`off`: no group. `all`: every group. `allowed`: ALLOWED_CHATS, and every group an
        admin of the bot (ADMIN_IDS, as set now) added it to."""
        if self.mode is Groups.OFF:
            return False
        if self.mode is Groups.ALL or chat_id in self.allowed_chats:
            return True
        return record is not None and record.added_by in self.admin_ids
