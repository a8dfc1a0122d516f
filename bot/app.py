"""Builds the PTB Application and runs the daemon's lifecycle: start, poll, stop in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot import __version__
from bot.config import Settings
from bot.context import BotContext, BotData, TgApp
from bot.daily import schedule_daily
from bot.handlers import (
    admin,
    errors,
    forget,
    gate,
    history,
    inspect,
    jobs,
    language,
    links,
    moderation,
    start,
)
from bot.ops.lock import AlreadyRunningError
from bot.ops.metrics import Metrics
from bot.ops.operations import Load, Operations, watch_polling
from bot.telegram_io.menu import set_admin_commands, set_user_commands
from bot.telegram_io.polling import PollMonitor
from bot.telegram_io.request import PollingRequest, RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.wiring import build_services, open_runtime

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 6.0
UPDATER_STOP_S = 2.0


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

    app.add_handler(TypeHandler(Update, count), group=-2)  # every update, the refused too
    for module in (
        gate,  # group -1: private chats, no edits, access; before every handler
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
            await set_user_commands(app.bot, services.i18n)
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
