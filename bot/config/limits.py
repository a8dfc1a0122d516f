"""The largest file the bot can send with the routes configured, and what would raise it.

One formula for everything that states or applies the limit: the deliverer's capacity, the
pipeline's cap, /start, /help and refusals (through `file_limit`), /admin and the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.config.settings import Settings

MTPROTO_UPLOAD_LIMIT = 2000 * 1024 * 1024  # Telegram's limit for a bot's file over MTProto
# What an operator can turn on for large files; said in the log and in /admin, never to users.
LARGE_FILES_ADVICE = (
    "set API_ID and API_HASH (uploads over MTProto), or run a local Bot API server "
    "(TELEGRAM_API_URL and BOT_API_LOCAL_MODE=true), to send files up to 2000 MB"
)


class Route(StrEnum):
    """The widest way a file can reach the chat."""

    BOT_API = "bot_api"  # the public Bot API: 50 MB
    LOCAL_BOT_API = "local_bot_api"  # a local Bot API server: 2000 MB
    MTPROTO = "mtproto"  # the MTProto client (API_ID, API_HASH): 2000 MB


def upload_capacity(bot_api_limit: int, mtproto: bool) -> int:
    """The largest file some configured route carries."""
    return max(bot_api_limit, MTPROTO_UPLOAD_LIMIT) if mtproto else bot_api_limit


@dataclass(frozen=True, slots=True)
class FileLimit:
    """The limit in force: `size` is what users are told and what a job may fetch."""

    size: int  # bytes: MAX_FILE_SIZE_MB, or less where the routes carry less
    capacity: int  # bytes the configured routes carry
    wanted: int  # bytes MAX_FILE_SIZE_MB allows
    route: Route

    @property
    def large_files(self) -> bool:
        """Whether a route for files past the public Bot API's 50 MB is configured."""
        return self.route is not Route.BOT_API

    @property
    def held_back(self) -> bool:
        """MAX_FILE_SIZE_MB allows more than the routes carry: the operator may want to know."""
        return self.capacity < self.wanted


def file_limit(settings: Settings) -> FileLimit:
    if settings.mtproto_enabled:
        route = Route.MTPROTO
    elif settings.bot_api_local_mode:
        route = Route.LOCAL_BOT_API
    else:
        route = Route.BOT_API
    capacity = upload_capacity(settings.bot_api_upload_limit, settings.mtproto_enabled)
    wanted = settings.max_file_size
    return FileLimit(min(wanted, capacity), capacity, wanted, route)
