"""Builds the PTB Application and the services, and runs the daemon's whole lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot import __version__
from bot.access import Access
from bot.config import Settings
from bot.context import BotContext, BotData
from bot.daily import schedule_daily
from bot.download.http import HttpFetcher
from bot.download.safety import UrlGuard
from bot.download.ytdlp import YtdlpFetcher
from bot.download.ytdlp_guard import guarded_youtube_dl
from bot.expiry import ExpiryConfig, ExpiryService
from bot.handlers import (
    admin,
    errors,
    forget,
    history,
    inspect,
    jobs,
    language,
    links,
    moderation,
    start,
)
from bot.history import History
from bot.i18n import I18n
from bot.jobs.manager import JobManager, Limits
from bot.jobs.runner import JobReport, JobRunner, RunnerConfig
from bot.ops.lock import AlreadyRunningError
from bot.ops.metrics import Metrics
from bot.ops.operations import Load, Operations, watch_polling
from bot.ratelimit import RateLimiter
from bot.services import Services
from bot.store.cache import CacheRepo
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkRepo
from bot.store.meta import MetaRepo
from bot.store.stats import StatsRepo
from bot.store.users import UserRepo
from bot.telegram_io.menu import set_admin_commands
from bot.telegram_io.polling import PollMonitor
from bot.telegram_io.request import PollingRequest, RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.telegram_io.sender import TelegramSender
from bot.telegram_io.ui import TelegramChatUI
from bot.texts import USER_COMMANDS
from bot.upload.botapi import BotApiUploader
from bot.upload.deliver import Deliverer
from bot.upload.media import probe
from bot.upload.mtproto import MtprotoUploader
from bot.upload.mtproto_client import resolve_factory

log = logging.getLogger(__name__)

TgApp = Application[Any, BotContext, Any, Any, BotData, Any]
SHUTDOWN_GRACE_S = 6.0
UPDATER_STOP_S = 2.0
IO_THREADS = 4


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def poll_timeout(settings: Settings) -> int:
    """The long-poll length: well inside the stall limit, so a healthy poll is never 'stalled'."""
    return int(max(1, min(30, settings.poll_stall_seconds / 3)))


def build_application(
    settings: Settings, monitor: PollMonitor, policy: RetryPolicy, metrics: Metrics
) -> TgApp:
    api = settings.telegram_api_url

    def on_status(method: str, status: int) -> None:
        if status == 0 or status >= 400:
            metrics.inc("bot_api_errors_total", method=method, code=status)

    request = RetryingRequest(
        policy=policy,
        on_status=on_status,
        connection_pool_size=32,
        read_timeout=20,
        write_timeout=20,
        connect_timeout=10,
        pool_timeout=10,
        proxy=settings.proxy_url,
    )
    updates_request = PollingRequest(
        monitor=monitor,
        read_timeout=poll_timeout(settings) + 10,
        connect_timeout=10,
        proxy=settings.proxy_url,
    )
    return (
        Application.builder()
        .token(settings.bot_token.get_secret_value())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .local_mode(settings.bot_api_local_mode)
        .request(request)
        .get_updates_request(updates_request)
        .concurrent_updates(64)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .build()
    )


def register_handlers(app: TgApp, metrics: Metrics) -> None:
    async def count(_update: Update, _ctx: BotContext) -> None:
        metrics.inc("updates_total")

    app.add_handler(TypeHandler(Update, count), group=-1)
    for module in (
        start,
        links,
        jobs,
        language,
        history,
        forget,
        admin,
        inspect,
        moderation,
        errors,  # last: its catch-alls must lose
    ):
        module.register(app)


@dataclass
class Runtime:
    """Everything with a lifetime that the daemon opens and must close."""

    db: Database
    blocking: ThreadPoolExecutor
    io: ThreadPoolExecutor
    upload_client: httpx.AsyncClient
    download_client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    loop = asyncio.get_running_loop()
    io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="io")
    # DNS lookups (getaddrinfo) use the loop's default executor: keep them off the download pool.
    loop.set_default_executor(io)
    blocking = ThreadPoolExecutor(settings.download_workers, thread_name_prefix="download")
    db = Database(settings.data_dir / "tgfetch.sqlite3")
    upload_client = httpx.AsyncClient(
        proxy=settings.proxy_url, trust_env=False, timeout=httpx.Timeout(60, connect=15)
    )
    download_client = httpx.AsyncClient(
        proxy=settings.download_proxy_url,
        trust_env=False,  # only DOWNLOAD_PROXY_URL decides; the URL guard depends on it
        timeout=httpx.Timeout(30, connect=15),
        headers={"User-Agent": f"Mozilla/5.0 (compatible; tgfetch/{__version__})"},
    )
    try:
        await db.open()
        yield Runtime(db, blocking, io, upload_client, download_client)
    finally:
        await upload_client.aclose()
        await download_client.aclose()
        await db.close()
        blocking.shutdown(wait=False, cancel_futures=True)


def build_services(
    settings: Settings, app: TgApp, rt: Runtime, policy: RetryPolicy, metrics: Metrics
) -> Services:
    i18n = I18n()
    jobs_repo = JobRepo(rt.db, utc_now)
    links_repo = LinkRepo(rt.db, utc_now)
    cache = CacheRepo(rt.db, utc_now)
    guard = build_guard(settings)
    botapi = BotApiUploader(
        settings.telegram_api_url,
        settings.bot_token.get_secret_value(),
        rt.upload_client,
        policy,
        local_mode=settings.bot_api_local_mode,
    )
    mtproto = None
    if settings.mtproto_enabled:
        mtproto = MtprotoUploader(resolve_factory(settings.mtproto_client_factory, settings))
    deliverer = Deliverer(botapi, mtproto, settings.bot_api_upload_limit)
    runner = JobRunner(
        config=RunnerConfig(
            data_dir=settings.data_dir,
            job_timeout=settings.job_timeout_seconds,
            choice_timeout=settings.choice_timeout_seconds,
        ),
        http=HttpFetcher(rt.download_client, guard, settings.max_file_size),
        ytdlp=YtdlpFetcher(
            rt.blocking,
            max_size=settings.max_file_size,
            proxy=settings.download_proxy_url,
            cookies=settings.ytdlp_cookies,
            factory=lambda params: guarded_youtube_dl(params, guard),
        ),
        deliverer=deliverer,
        probe=probe,
        jobs=jobs_repo,
        links=links_repo,
        cache=cache,
        translator=i18n.get,
        on_outcome=lambda report: record_job(metrics, report),
    )
    manager = JobManager(
        limits=Limits(
            workers=settings.download_workers,
            per_user=settings.max_jobs_per_user,
            max_queued=settings.max_queued_jobs,
        ),
        repo=jobs_repo,
        links=links_repo,
        runner=runner,
        ui=TelegramChatUI(app.bot),
        translator=i18n.get,
    )
    users = UserRepo(rt.db, utc_now)
    expiry = ExpiryService(
        config=ExpiryConfig.from_settings(settings),
        links=links_repo,
        users=users,
        jobs=jobs_repo,
        meta=MetaRepo(rt.db),
        sender=TelegramSender(app.bot),
        translator=i18n.get,
        clock=utc_now,
    )
    return Services(
        settings=settings,
        i18n=i18n,
        users=users,
        links=links_repo,
        jobs=manager,
        mtproto=mtproto,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        access=Access(settings.admin_ids, settings.allowed_users),
        history=History(links_repo, jobs_repo),
        stats=StatsRepo(rt.db, utc_now, settings.zone),
        expiry=expiry,
    )


def record_job(metrics: Metrics, report: JobReport) -> None:
    metrics.inc("downloads_total", outcome=report.outcome)
    metrics.observe("job_duration_seconds", report.seconds)
    if report.route == "cache":
        metrics.inc("cache_hits_total")
    elif report.size:
        metrics.inc("bytes_delivered_total", report.size, route=report.route)


def build_guard(settings: Settings) -> UrlGuard:
    # Behind a download proxy the connected peer is the proxy itself: check URLs, not peers.
    return UrlGuard(
        settings.allow_private_urls, behind_proxy=settings.download_proxy_url is not None
    )


async def set_commands(app: TgApp, i18n: I18n) -> None:
    for code in i18n.languages:
        tr = i18n.get(code)
        commands = [BotCommand(name, tr(desc)) for name, desc in USER_COMMANDS]
        try:
            await app.bot.set_my_commands(commands, language_code=None if code == "en" else code)
        except TelegramError as exc:
            log.warning("set_commands_failed language=%s error=%r", code, exc)


async def run(settings: Settings) -> int:
    """The daemon: returns the process exit code."""
    started = time.monotonic()
    monitor = PollMonitor(settings.poll_stall_seconds)
    ops = Operations(settings, monitor, Metrics())
    try:
        ops.lock()  # before anything talks to Telegram: a second instance must not poll
    except AlreadyRunningError as exc:
        log.error("startup_failed %s", exc)  # noqa: TRY400 - one clear line
        return 1
    try:
        return await _serve(settings, ops, monitor, started)
    finally:
        await ops.close()


async def _serve(settings: Settings, ops: Operations, monitor: PollMonitor, started: float) -> int:
    loop = asyncio.get_running_loop()
    stop, dead = asyncio.Event(), asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    policy = RetryPolicy()
    app = build_application(settings, monitor, policy, ops.metrics)
    async with open_runtime(settings) as rt:
        services = build_services(settings, app, rt, policy, ops.metrics)
        app.bot_data.services = services
        register_handlers(app, ops.metrics)
        ops.attach(
            Load(
                running=lambda: services.jobs.running,
                queued=lambda: services.jobs.queued,
                mtproto=lambda: services.mtproto.state if services.mtproto else "disabled",
            )
        )
        try:
            await ops.start_health()
        except OSError as exc:
            log.error("startup_failed HEALTH_PORT %s: %s", settings.health_port, exc)  # noqa: TRY400
            return 1
        try:
            await app.initialize()
        except InvalidToken:
            log.error(  # noqa: TRY400 - one clear line, the traceback says nothing more
                "startup_failed BOT_TOKEN was rejected by the Bot API (401)"
            )
            return 1
        except TelegramError as exc:
            log.error("startup_failed cannot reach the Bot API: %s", exc)  # noqa: TRY400
            return 1
        try:
            await app.start()
            assert app.updater is not None  # noqa: S101 - built with an updater
            await app.updater.start_polling(
                timeout=poll_timeout(settings),
                allowed_updates=Update.ALL_TYPES,
            )
            log.info(
                "started version=%s bot=@%s seconds=%.2f",
                __version__,
                app.bot.username,
                time.monotonic() - started,
            )
            ops.ready()
            await services.jobs.resume()
            schedule_daily(app, settings.daily_job_time, settings.zone)
            await set_commands(app, services.i18n)
            await set_admin_commands(app.bot, settings.admin_ids, services.translator_of)
            watcher = asyncio.create_task(watch_polling(monitor, stop, dead))
            await stop.wait()
            log.info("stopping reason=%s", "polling_dead" if dead.is_set() else "signal")
            await ops.stopping()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await services.jobs.shutdown(SHUTDOWN_GRACE_S)
            if services.mtproto is not None:
                await services.mtproto.close()
            if app.updater.running:
                # Stopping confirms the last offset with one more getUpdates, which hangs when
                # Telegram does not answer (the very case of a stalled poller): bound it.
                try:
                    await asyncio.wait_for(app.updater.stop(), UPDATER_STOP_S)
                except TimeoutError:
                    log.warning("updater_stop_timeout seconds=%.0f", UPDATER_STOP_S)
            await app.stop()
        finally:
            await app.shutdown()
    log.info("stopped")
    return 1 if dead.is_set() else 0
