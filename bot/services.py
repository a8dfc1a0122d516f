"""The services every handler may use, created once in app.py."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import User

from bot.config import Settings
from bot.i18n import I18n, Translator
from bot.jobs.manager import JobManager
from bot.ratelimit import RateLimiter
from bot.store.links import LinkRepo
from bot.store.users import UserRecord, UserRepo
from bot.upload.mtproto import MtprotoUploader


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    i18n: I18n
    users: UserRepo
    links: LinkRepo
    jobs: JobManager
    mtproto: MtprotoUploader | None
    limiter: RateLimiter

    async def seen(self, user: User) -> tuple[UserRecord, Translator]:
        """Record the user's visit; returns their record and the translator for their language."""
        record = await self.users.touch(
            user.id, user.first_name, user.username, user.language_code
        )
        return record, self.i18n.get(record.language_override or user.language_code)
