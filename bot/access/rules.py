"""Who may use the bot: admins always; then nobody banned, and only the allowlist if one is set."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.store.users import UserRecord


class Verdict(StrEnum):
    ALLOWED = "allowed"
    BANNED = "banned"
    NOT_ALLOWED = "not_allowed"  # ALLOWED_USERS is set and does not list the user


@dataclass(frozen=True, slots=True)
class Access:
    """The one place that decides access; handlers ask it and word the refusal."""

    admin_ids: frozenset[int]
    allowed_users: frozenset[int] | None  # None: anyone may use the bot

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids

    def verdict(self, user: UserRecord) -> Verdict:
        if self.is_admin(user.user_id):
            return Verdict.ALLOWED  # an admin cannot lock themselves out
        if user.banned:
            return Verdict.BANNED
        if self.allowed_users is not None and user.user_id not in self.allowed_users:
            return Verdict.NOT_ALLOWED
        return Verdict.ALLOWED
