"""Builds the PTB Application and its services, and runs the daemon (lifecycle.py: start,
poll, stop in order)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseRateLimiter, ContextTypes, TypeHandler

from bot.config.settings import Settings
from bot.daemon.children import install_children
from bot.daemon.lifecycle import Lifecycle, fail_start, poll_timeout
from bot.daemon.resources import open_runtime
from bot.daemon.seams import Seams
from bot.daemon.wiring import build_services
from bot.handlers import (
    admin,
    dl,
    errors,
    forget,
    gate,
    groups,
    history,
    inline,
    inspect,
    jobs,
    language,
    links,
    moderation,
    pdf,
    settings,
    start,
)
from bot.handlers.context import BotContext, BotData, TgApp
from bot.ops.metrics import Metrics
from bot.ops.operations import Load, Operations
from bot.ops.stop import RESTART_CODE, Exit, ExitReason, StopSignal
from bot.telegram_io.outbound import Outbound
from bot.telegram_io.polling import PollMonitor
from bot.telegram_io.request import PollingRequest, RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.telegram_io.updates import LoggedUpdates

log = logging.getLogger(__name__)

CONCURRENT_UPDATES = 64  # a long download never delays another user's reply


def api_request(settings: Settings, policy: RetryPolicy, metrics: Metrics) -> RetryingRequest:
    """The request stack of every Bot API call but getUpdates (a worker's uploads too)."""

    def on_status(method: str, status: int) -> None:
        if status == 0 or status >= 400:
            metrics.inc("bot_api_errors_total", method=method, code=status)

    return RetryingRequest(
        policy=policy,
        on_status=on_status,
        connection_pool_size=32,
        read_timeout=settings.bot_api_timeout_seconds,
        write_timeout=20,
        connect_timeout=10,
        pool_timeout=10,
        proxy=settings.proxy_url,
    )


def outbound_path() -> Outbound:
    """The one path of every call into a chat (telegram_io/outbound.py): PTB's rate limiter,
    and the turns the presenters, the streamed uploads and the daily notices wait for."""
    return Outbound()


def build_application(
    settings: Settings,
    monitor: PollMonitor,
    policy: RetryPolicy,
    metrics: Metrics,
    limiter: BaseRateLimiter[Any],
) -> TgApp:
    api = settings.telegram_api_url
    request = api_request(settings, policy, metrics)
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
        .rate_limiter(limiter)
        .concurrent_updates(LoggedUpdates(CONCURRENT_UPDATES))
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .build()
    )


def register_handlers(app: TgApp, metrics: Metrics) -> None:
    async def count(_update: Update, _ctx: BotContext) -> None:
        metrics.inc("updates_total")

    app.add_handler(TypeHandler(Update, count), group=-2)  # every update, the refused too
    for module in (
        gate,  # group -1: which chats, no edits, access; before every handler
        start,
        links,
        dl,
        pdf,
        jobs,
        groups,
        inline,
        settings,
        language,
        history,
        forget,
        admin,
        inspect,
        moderation,
        errors,  # last: its catch-alls must lose
    ):
        module.register(app)


async def run(settings: Settings, seams: Seams) -> int:
    """The daemon: returns the process exit code. The last line it logs is always `stopped`."""
    started = time.monotonic()
    monitor = PollMonitor(settings.poll_stall_seconds)
    ops = Operations(settings, monitor, Metrics())
    ending = Exit(ExitReason.FAILED_START, 1)
    try:
        ops.lock()  # before anything talks to Telegram: a second instance must not poll
        install_children(settings)  # before any thread: children inherit PATH
    except Exception as exc:  # noqa: BLE001 - start-up boundary; fail_start logs it
        ending = fail_start(exc)
        log.info("stopped reason=%s code=%d", ending.reason, ending.code)
        return ending.code
    try:
        ending = await _serve(settings, ops, monitor, started, seams)
    except asyncio.CancelledError:  # asyncio.run ends us so after a signal came very early
        ending = Exit(ExitReason.SIGNAL, 0)
        raise
    finally:
        await ops.close()
        log.info("stopped reason=%s code=%d", ending.reason, ending.code)
    return ending.code


async def _serve(
    settings: Settings,
    ops: Operations,
    monitor: PollMonitor,
    started: float,
    seams: Seams,
) -> Exit:
    loop = asyncio.get_running_loop()
    stop = StopSignal()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.request, ExitReason.SIGNAL, 0)
    async with contextlib.AsyncExitStack() as resources:
        try:
            # A 429 goes to the outbound path, which pauses the chat or the bot (not the call).
            policy = RetryPolicy(flood_waits=False)
            outbound = outbound_path()
            app = build_application(settings, monitor, policy, ops.metrics, outbound)
            rt = await resources.enter_async_context(open_runtime(settings, seams))
            # Under systemd a new yt-dlp is taken up by stopping: Restart= starts us again.
            restart = None
            if settings.notify_socket:
                restart = lambda: stop.request(ExitReason.YTDLP_UPDATED, RESTART_CODE)  # noqa: E731
            services = build_services(settings, app, rt, ops.metrics, outbound, restart)
            app.bot_data.services = services
            register_handlers(app, ops.metrics)
            link = rt.queue
            ops.attach(
                Load(
                    running=lambda: services.jobs.running,
                    queued=lambda: services.jobs.queued,
                    mtproto=lambda: services.mtproto.state if services.mtproto else "disabled",
                    queue=lambda: link.probe.state if link is not None else None,
                )
            )
        except Exception as exc:  # noqa: BLE001 - start-up boundary; fail_start logs it
            return fail_start(exc)
        lifecycle = Lifecycle(
            app=app,
            services=services,
            ops=ops,
            settings=settings,
            monitor=monitor,
            stop=stop,
            started=started,
        )
        return await lifecycle.run()
