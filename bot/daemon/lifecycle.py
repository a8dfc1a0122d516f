"""The daemon's life: start in a task a stop can cancel, chores in the background, one stop.

Every way out goes through `_stop`: a signal at any moment (even mid start-up), a revoked
token, stalled polling, a failed start-up. Each step of the stop is bounded, so the whole of
it fits in STOP_BUDGET_S, and the last line is always `stopped reason=... code=...`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, TelegramError

from bot import __version__
from bot.config.limits import LARGE_FILES_ADVICE, file_limit
from bot.config.settings import ConfigError, Settings, StartupError
from bot.daily.schedule import schedule_daily
from bot.handlers.context import TgApp
from bot.handlers.menu import set_admin_commands, set_user_commands
from bot.handlers.services import Services
from bot.ops.heap import Heap, trim_now_and_then
from bot.ops.lock import AlreadyRunningError
from bot.ops.operations import Operations, watch_polling
from bot.ops.stop import Exit, ExitReason, StopSignal
from bot.telegram_io.polling import PollMonitor
from bot.upgrade.service import schedule_check

log = logging.getLogger(__name__)

# A stop, from the moment it is seen to the end of run(), takes at most this long (plus a
# STEP_MIN_S per step once it is spent); launch.py then gives threads 0.3 s: under 3 s in
# all. Jobs get most of it (a download stops in well under a second, a yt-dlp worker within
# 2 s); what they leave goes to the updater (its last getUpdates), the application (PTB
# waits for its handlers) and the connections.
STOP_BUDGET_S = 2.5
JOBS_GRACE_S = 2.0
UPDATER_STOP_S = 1.0
STARTUP_CANCEL_S = 0.5
STEP_MIN_S = 0.05  # even a late step gets this long to close its connections


def poll_timeout(settings: Settings) -> int:
    """The long-poll length: well inside the stall limit, so a healthy poll is never 'stalled'."""
    return int(max(1, min(30, settings.poll_stall_seconds / 3)))


def startup_failure(exc: BaseException) -> tuple[str, int]:
    """The one line saying why start-up failed, and the exit code (2: configuration)."""
    if isinstance(exc, ConfigError):
        return str(exc), 2
    if isinstance(exc, InvalidToken):
        return "BOT_TOKEN was rejected by the Bot API (401)", 1
    if isinstance(exc, StartupError):
        return str(exc), exc.exit_code
    if isinstance(exc, AlreadyRunningError):
        return str(exc), 1
    if isinstance(exc, TelegramError):
        return f"cannot reach the Bot API: {exc.message}", 1
    return f"{type(exc).__name__}: {exc}", 1


def fail_start(exc: BaseException) -> Exit:
    """Log a start-up failure as one line (its traceback at DEBUG only)."""
    message, code = startup_failure(exc)
    log.error("startup_failed %s", message)
    log.debug("startup_failed traceback", exc_info=exc)
    return Exit(ExitReason.FAILED_START, code)


def _log_file_limit(settings: Settings) -> None:
    """The limit users are told, and (to the operator only) how to raise it."""
    limit = file_limit(settings)
    mb = 1024 * 1024
    if limit.held_back:
        log.warning(
            "large_files_off limit_mb=%d max_file_size_mb=%d route=%s advice=%r",
            limit.size // mb,
            limit.wanted // mb,
            limit.route,
            LARGE_FILES_ADVICE,
        )
    else:
        log.info("file_limit limit_mb=%d route=%s", limit.size // mb, limit.route)


def on_poll_error(exc: TelegramError) -> None:
    """PTB's polling loop retries with a backoff: one line per failure, the traceback at DEBUG."""
    if isinstance(exc, Conflict):
        return  # PollMonitor logs poll_conflict with what to do about it
    log.warning("poll_error error=%s", exc.message)
    log.debug("poll_error traceback", exc_info=exc)


class Lifecycle:
    """Owns the Application from initialize to shutdown, and every task start-up creates."""

    def __init__(
        self,
        *,
        app: TgApp,
        services: Services,
        ops: Operations,
        settings: Settings,
        monitor: PollMonitor,
        stop: StopSignal,
        started: float,
    ) -> None:
        self._app = app
        self._services = services
        self._ops = ops
        self._settings = settings
        self._monitor = monitor
        self._stop = stop
        self._started = started
        self._background: list[asyncio.Task[None]] = []

    async def run(self) -> Exit:
        """Start, serve until asked to stop, stop; returns why it stopped."""
        starting = asyncio.create_task(self._start(), name="startup")
        stopped = asyncio.create_task(self._stop.wait(), name="stop-wait")
        try:
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not starting.done():  # a stop came first: start-up ends where it is
            deadline = time.monotonic() + STOP_BUDGET_S
            starting.cancel()
            await asyncio.wait({starting}, timeout=STARTUP_CANCEL_S)
            if starting.done() and not starting.cancelled() and starting.exception():
                log.debug("startup_interrupted", exc_info=starting.exception())
        else:
            if (exc := starting.exception()) is not None:
                failed = fail_start(exc)
                self._stop.request(failed.reason, failed.code)
            await self._stop.wait()
            deadline = time.monotonic() + STOP_BUDGET_S
        ending = await self._stop.wait()
        await self._shutdown(ending, deadline)
        return ending

    async def _start(self) -> None:
        app = self._app
        await self._ops.start_health()
        try:
            await app.initialize()  # getMe
        except TelegramError:
            raise
        except Exception as exc:  # PTB could not read the answer
            answer = f"the Bot API's answer to getMe was not understood: {exc!r}"
            raise StartupError(answer, exit_code=1) from exc
        await app.start()
        if app.updater is None:
            raise StartupError("the application was built without an updater", exit_code=1)
        await app.updater.start_polling(
            timeout=poll_timeout(self._settings),
            allowed_updates=Update.ALL_TYPES,
            error_callback=on_poll_error,
        )
        self._spawn(watch_polling(self._monitor, self._stop), "watch-polling")
        self._spawn(trim_now_and_then(Heap.of_this_process()), "heap-trim")
        log.info(
            "started version=%s bot=@%s seconds=%.2f",
            __version__,
            app.bot.username,
            time.monotonic() - self._started,
        )
        _log_file_limit(self._settings)
        self._ops.ready()
        await self._services.jobs.resume()
        schedule_daily(
            app, self._services.expiry, self._settings.daily_job_time, self._settings.zone
        )
        schedule_check(
            app, self._services.updates, self._settings.daily_job_time, self._settings.zone
        )
        # Menus retry through Telegram's failures for a while: never part of start-up.
        self._spawn(self._menus(), "menus")

    async def _menus(self) -> None:
        services = self._services
        await set_user_commands(self._app.bot, services.i18n, groups=services.places.rules.enabled)
        await set_admin_commands(self._app.bot, self._settings.admin_ids, services.translator_of)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(_log_crash)
        self._background.append(task)

    async def _shutdown(self, ending: Exit, deadline: float) -> None:
        """Stop everything start-up may have started, in order, each step bounded."""
        log.info("stopping reason=%s", ending.reason)

        def left(cap: float | None = None) -> float:
            remaining = max(STEP_MIN_S, deadline - time.monotonic())
            return remaining if cap is None else min(cap, remaining)

        await self._ops.stopping(str(ending.reason))
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        services = self._services
        await services.jobs.shutdown(left(JOBS_GRACE_S))
        await bounded("alerts_close", services.alerts.close(), left())
        await bounded("updates_close", services.updates.close(), left())
        if services.mtproto is not None:
            await bounded("mtproto_close", services.mtproto.close(), left())
        app = self._app
        if app.updater is not None and app.updater.running:
            # Stopping confirms the last offset with one more getUpdates, which hangs when
            # Telegram does not answer (the very case of a stalled poller); after a 401 it
            # re-raises the InvalidToken that ended polling.
            await bounded("updater_stop", app.updater.stop(), left(UPDATER_STOP_S))
        if app.running:
            await bounded("application_stop", app.stop(), left())
        await bounded("application_shutdown", app.shutdown(), left())


async def bounded(step: str, work: Awaitable[None], seconds: float) -> None:
    """One step of the stop: a failure or an overrun is one line, and the stop goes on."""
    try:
        await asyncio.wait_for(work, seconds)
    except TimeoutError:
        log.warning("stop_step_timeout step=%s seconds=%.1f", step, seconds)
    except Exception as exc:  # the stop must reach its end whatever one step does
        log.info("stop_step_failed step=%s error=%r", step, exc)
        log.debug("stop_step_failed traceback", exc_info=exc)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background_task_failed task=%s error=%r", task.get_name(), exc)
        log.debug("background_task_failed traceback", exc_info=exc)
