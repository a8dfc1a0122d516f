"""Settings: the only place that reads the environment (and `.env`)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IdSet = Annotated[frozenset[int], NoDecode]

BOT_API_UPLOAD_LIMIT = 50 * 1024 * 1024
LOCAL_BOT_API_UPLOAD_LIMIT = 2000 * 1024 * 1024


class SplitFiles(StrEnum):
    """What is cut into parts when it is larger than Telegram takes (SPLIT_FILES)."""

    VIDEO = "video"  # video and audio, into parts that play on their own
    ALL = "all"  # those, and any other file into plain byte ranges
    OFF = "off"  # nothing: a file too large for Telegram is refused


class Groups(StrEnum):
    """GROUPS: which groups the bot works in (by command, and /autodl)."""

    OFF = "off"  # none: private chats only
    ALLOWED = "allowed"  # those in ALLOWED_CHATS, and those an admin (ADMIN_IDS) added it to
    ALL = "all"  # any group it is added to


class YtdlpUpdate(StrEnum):
    """YTDLP_UPDATE: what the daily check does about a newer yt-dlp on the package index."""

    OFF = "off"
    NOTIFY = "notify"
    AUTO = "auto"


def _parse_ids(value: object) -> object:
    # pydantic-settings JSON-decodes an optional field's value first: "1001" arrives as 1001.
    if isinstance(value, int) and not isinstance(value, bool):
        return frozenset({value})
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
        return frozenset(int(p) for p in parts if p)
    return value


QUEUE_SCHEMES = frozenset({"redis", "rediss", "unix"})


def _check_queue_url(value: SecretStr | None) -> SecretStr | None:
    if value is None or not value.get_secret_value().strip():
        return None
    url = value.get_secret_value().strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    # Never echo the value: it holds Redis's password.
    if scheme not in QUEUE_SCHEMES:
        raise ValueError("must be redis://, rediss:// (TLS) or unix:// (a local socket)")
    if scheme == "unix" and not parts.path:
        raise ValueError("unix:// needs the socket's path, e.g. unix:///run/redis/redis.sock")
    if scheme != "unix" and not parts.hostname:
        raise ValueError("must name Redis's host, e.g. redis://:PASSWORD@10.0.0.2:6379/0")
    return SecretStr(url)


def _check_proxy(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    scheme = urlsplit(value).scheme.lower()
    if scheme not in {"http", "https", "socks5", "socks5h"} or not urlsplit(value).hostname:
        raise ValueError("must be http://, https://, socks5:// or socks5h://host:port")
    return value.strip()


class Settings(BaseSettings):
    """Every knob of the daemon; names match the environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    bot_api_local_mode: bool = False
    api_id: int | None = None
    api_hash: SecretStr | None = None
    admin_ids: IdSet = frozenset()
    allowed_users: IdSet | None = None
    # Groups: GROUPS=allowed (the default) serves ALLOWED_CHATS and the groups an admin of the
    # bot added it to; `all` any group; `off` none.
    groups: Groups = Groups.ALLOWED
    allowed_chats: IdSet = frozenset()
    data_dir: Path = Path("./data")
    max_file_size_mb: int = Field(default=2000, gt=0, le=4000)
    # All the files of one job together (the parts of a split file, a playlist's items).
    max_job_size_mb: int = Field(default=4000, gt=0, le=100_000)
    split_files: SplitFiles = SplitFiles.VIDEO
    # A playlist (or a page with several videos): at most this many items when the user asks
    # for all of them.
    max_playlist_items: int = Field(default=50, ge=1, le=500)
    # The most of one page, manifest or API answer yt-dlp may hold while it looks for media.
    max_page_mb: int = Field(default=5, ge=1, le=100)
    # Every child process (ffmpeg, ffprobe, the JavaScript runtime): the most memory one may
    # use; a child past it fails its step (bot/children).
    child_memory_mb: int = Field(default=300, ge=64, le=65536)
    download_workers: int = Field(default=4, ge=1, le=64)
    max_jobs_per_user: int = Field(default=2, ge=1, le=100)
    max_queued_jobs: int = Field(default=100, ge=1)
    job_timeout_seconds: float = Field(default=3600, gt=0)
    choice_timeout_seconds: float = Field(default=20, ge=0)
    allow_private_urls: bool = False
    link_retention_days: int = Field(default=30, ge=1)
    expiry_notice_hours: int = Field(default=24, ge=1)
    daily_job_time: dt.time = dt.time(9, 0)
    tz: str = "UTC"
    rate_limit_per_minute: int = Field(default=10, ge=0)
    health_port: int | None = Field(default=None, ge=0, le=65535)  # 0: any free port
    health_host: str = "127.0.0.1"
    poll_stall_seconds: float = Field(default=60, gt=0)
    # How long to wait for Telegram's answer to a call; uploads wait longer, by file size.
    bot_api_timeout_seconds: float = Field(default=20, gt=0, le=600)
    proxy_url: str | None = None
    download_proxy_url: str | None = None
    ytdlp_cookies: Path | None = None
    # Netscape cookies files per site (several a site are used in turn); admins add them in
    # /admin. Empty: DATA_DIR/cookies.
    cookies_dir: Path | None = None
    # A PO-token provider for YouTube (bgutil's HTTP server, e.g. http://127.0.0.1:4416), used
    # through its yt-dlp plugin (requirements-pot.txt). Empty: none.
    ytdlp_pot_provider_url: str | None = None
    # update-ytdlp and the daily check: off, notify (tell admins a newer yt-dlp exists), auto
    # (install it, test it, and restart into it).
    ytdlp_update: YtdlpUpdate = YtdlpUpdate.NOTIFY
    # A job a site refuses for now (a 429, the bot check, a 5xx) is tried again with backoff
    # for this long before the failure stands; 0: never.
    park_retry_hours: float = Field(default=6, ge=0, le=168)
    # Set: this process is the front (polls, records, shows) and `main.py worker` processes
    # download, through Redis (docs/SCALING.md). Unset: everything in this one process.
    queue_url: SecretStr | None = None
    # A worker's running job is seen alive this long after its last heartbeat; a dead worker's
    # job runs elsewhere about this plus QUEUE_SWEEP_SECONDS plus 5 s after it died.
    queue_heartbeat_seconds: int = Field(default=30, ge=2, le=3600)
    queue_sweep_seconds: int = Field(default=5, ge=1, le=600)  # how often stuck jobs are sought
    # /pdf: a web page printed by a headless Chromium (installed by `make run`).
    pdf_pages: bool = True  # PDF_PAGES=off: the command is switched off
    pdf_workers: int = Field(default=1, ge=1, le=8)  # pages rendered at once
    pdf_timeout_seconds: float = Field(default=60, ge=5, le=600)  # one page, load to file
    pdf_browser: Path | None = None  # the Chromium binary; empty: found on this machine
    # The browser's whole process tree, resident (its own CHILD_MEMORY_MB: a browser is ten
    # processes; the watchdog adds up their resident memory, shared pages in each).
    pdf_memory_mb: int = Field(default=1024, ge=256, le=65536)
    log_level: str = "INFO"
    # Set by systemd for Type=notify units, not by operators.
    notify_socket: str | None = None
    watchdog_usec: int | None = Field(default=None, ge=0)

    @field_validator("admin_ids", "allowed_users", "allowed_chats", mode="before")
    @classmethod
    def _ids(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and not value.strip():
            return None if info.field_name == "allowed_users" else frozenset()
        return _parse_ids(value)

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token or any(c.isspace() or c == "/" for c in token):
            raise ValueError("must be the token @BotFather gave you")
        return SecretStr(token)

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("proxy_url", "download_proxy_url")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        return _check_proxy(value)

    @field_validator("ytdlp_pot_provider_url")
    @classmethod
    def _pot(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
            raise ValueError("must be the provider's http(s) address, e.g. http://127.0.0.1:4416")
        return value.strip().rstrip("/")

    @field_validator("queue_url")
    @classmethod
    def _queue(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_queue_url(value)

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as UTC or Asia/Tehran") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("ytdlp_cookies")
    @classmethod
    def _cookies(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @field_validator("pdf_browser")
    @classmethod
    def _browser(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist (a Chromium binary, or leave it empty)")
        return value

    @model_validator(mode="after")
    def _mtproto_pair(self) -> Settings:
        if (self.api_id is None) != (self.api_hash is None):
            missing = "API_HASH" if self.api_hash is None else "API_ID"
            raise ValueError(f"{missing} must be set too: API_ID and API_HASH go together")
        return self

    @property
    def mtproto_enabled(self) -> bool:
        return self.api_id is not None and self.api_hash is not None

    @property
    def pot_endpoints(self) -> tuple[str, ...]:
        """The provider's URLs its plugin calls (bgutil: /ping and /get_pot)."""
        base = self.ytdlp_pot_provider_url
        return (f"{base}/ping", f"{base}/get_pot") if base else ()

    @property
    def cookies_folder(self) -> Path:
        return self.cookies_dir or self.data_dir / "cookies"

    @property
    def max_file_size(self) -> int:
        return self.max_file_size_mb * 1024 * 1024

    @property
    def max_job_size(self) -> int:
        return self.max_job_size_mb * 1024 * 1024

    @property
    def max_page_size(self) -> int:
        return self.max_page_mb * 1024 * 1024

    @property
    def bot_api_upload_limit(self) -> int:
        return LOCAL_BOT_API_UPLOAD_LIMIT if self.bot_api_local_mode else BOT_API_UPLOAD_LIMIT

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def load_settings(env_file: str | None = ".env") -> Settings:
    """Read settings, turning pydantic's report into one line per the first bad setting."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        err = exc.errors()[0]
        if not err["loc"]:
            raise ConfigError(
                f"config error: {err['msg'].removeprefix('Value error, ')}"
            ) from None
        name = str(err["loc"][0]).upper()
        if err["type"] == "missing":
            raise ConfigError(f"config error: {name} is required but not set") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"config error: {name}: {msg}") from None


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line that says why. `exit_code` 2 means
    the operator must fix something first (a setting, DATA_DIR, the database); 1 a failure
    that a restart may get past."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
