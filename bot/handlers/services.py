"""The services every handler may use, created once in app.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from telegram import User

from bot.access.groups import GroupRules
from bot.access.ratelimit import RateLimiter
from bot.access.rules import Access
from bot.config.settings import Settings
from bot.daily.expiry import ExpiryService
from bot.daily.site_alerts import SiteAlerts
from bot.download.cookies import CookieStore
from bot.handlers.rights import ChatAdmins
from bot.history.pages import History
from bot.i18n import I18n, Translator
from bot.jobs.engine import Engine
from bot.store.cache import CacheRepo
from bot.store.db import Database
from bot.store.groups import GroupRepo
from bot.store.inline import InlineRepo
from bot.store.jobs import JobRepo
from bot.store.links import LinkRepo
from bot.store.stats import StatsRepo
from bot.store.users import UserRecord, UserRepo
from bot.upgrade.service import YtdlpUpdates
from bot.upload.mtproto import MtprotoUploader


@dataclass(frozen=True, slots=True)
class Places:
    """Where users are besides a private chat: groups (GROUPS, /autodl, their admins) and
    inline mode (the file_id cache, deep-link tokens); and jobs by id, for their buttons."""

    rules: GroupRules
    groups: GroupRepo
    chat_admins: ChatAdmins
    inline: InlineRepo
    cache: CacheRepo
    jobs: JobRepo

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: Database,
        cache: CacheRepo,
        jobs: JobRepo,
        clock: Callable[[], dt.datetime],
    ) -> Places:
        rules = GroupRules(settings.groups, settings.allowed_chats, settings.admin_ids)
        groups, inline = GroupRepo(db, clock), InlineRepo(db, clock)
        return cls(rules, groups, ChatAdmins(), inline, cache, jobs)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    i18n: I18n
    users: UserRepo
    links: LinkRepo
    jobs: Engine
    mtproto: MtprotoUploader | None
    limiter: RateLimiter
    access: Access
    history: History
    stats: StatsRepo
    expiry: ExpiryService
    alerts: SiteAlerts  # sites that refuse the bot, told to the admins
    cookies: CookieStore  # COOKIES_DIR: what the admin panel lists, adds and removes
    updates: YtdlpUpdates  # the daily yt-dlp check and the panel's Update button
    js_runtime: str  # what yt-dlp runs YouTube's challenge with: deno-2.9.8, or none
    places: Places  # groups, inline mode, jobs by id

    async def seen(self, user: User) -> tuple[UserRecord, Translator]:
        """Record the user's visit; returns their record and the translator for their language."""
        record = await self.users.touch(
            user.id, user.first_name, user.username, user.language_code
        )
        return record, self.i18n.get(record.language_override or user.language_code)

    async def translator_of(self, user_id: int, language_code: str | None = None) -> Translator:
        """A user's translator without recording a visit (for admins' notices, error replies):
        their /language choice, else `language_code`, else the last one Telegram reported."""
        record = await self.users.get(user_id)
        if record is not None:
            language_code = record.language_override or language_code or record.language_code
        return self.i18n.get(language_code)
