"""A download worker (`python main.py worker`, QUEUE_URL set): it takes a job from Redis when
it has a free slot, runs the pipeline (fetch, post-process, deliver straight to Telegram with
the bot's own token), and returns the job's result to the queue, for the front. It never
polls, keeps no user state and no SQLite; its DATA_DIR holds the downloads in progress and its
own MTProto session.

A stop (SIGTERM) hands the running jobs back to the queue at once: another worker takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Bot
from telegram.ext import ExtBot

from bot import __version__
from bot.config.settings import Settings, StartupError
from bot.daemon.app import api_request, outbound_path
from bot.daemon.children import install_children
from bot.daemon.lifecycle import STARTUP_CANCEL_S, bounded, fail_start
from bot.daemon.resources import Pools, open_pools
from bot.daemon.seams import Seams
from bot.daemon.wiring import build_pipeline, record_job
from bot.i18n import I18n
from bot.jobs.parts import RunLedger
from bot.jobs.pipeline import CacheLookup, Pipeline
from bot.jobs.record import JobRecorder
from bot.jobs.run import Deliverer
from bot.ops.health import WorkerHealth
from bot.ops.heap import Heap, trim_now_and_then
from bot.ops.metrics import Metrics
from bot.ops.operations import ProcessOps
from bot.ops.stop import Exit, ExitReason, StopSignal
from bot.remote.connect import QueueLink, open_queue
from bot.remote.events import EventWriter
from bot.remote.redis_client import describe
from bot.remote.tasks import stop_tasks
from bot.remote.tuning import Tuning
from bot.remote.worker import CANCEL_DEADLINE_S, JobRunner, QueueWorker, build_worker
from bot.telegram_io.retry import RetryPolicy
from bot.upload.botapi import BotApiUploader
from bot.upload.deliver import RouteDeliverer
from bot.upload.mtproto import MtprotoUploader

log = logging.getLogger(__name__)

# SAQ cancels the running jobs and waits up to its deadline for each to hand its job back.
WORKER_STOP_S = CANCEL_DEADLINE_S + 1.0
TASKS_STOP_S = 1.0  # the event writer, the probe and SAQ's loop, once the worker has stopped
STEP_S = 1.0  # each other step of the stop


def worker_name() -> str:
    """How this worker is named in the logs and in SAQ's worker list."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class _Parts:
    bot: Bot
    mtproto: MtprotoUploader | None
    events: EventWriter
    runner: JobRunner
    worker: QueueWorker


class WorkerOps(ProcessOps):
    """The instance lock on DATA_DIR, systemd's notify and watchdog, /health and /metrics."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._snapshot: Callable[[], WorkerHealth] | None = None
        self._alive: Callable[[], bool] = lambda: True
        super().__init__(settings, metrics, healthy=lambda: self._alive())

    def attach(self, snapshot: Callable[[], WorkerHealth], alive: Callable[[], bool]) -> None:
        self._snapshot = snapshot
        self._alive = alive
        self.metrics.set_gauge_fn("jobs_running", lambda: float(snapshot().jobs_running))
        self.metrics.set_gauge_fn("queue_up", lambda: float(snapshot().healthy))

    def status_line(self) -> str:
        if self._snapshot is None:
            return "starting"
        snap = self._snapshot()
        return f"jobs running {snap.jobs_running} of {snap.slots}; queue {snap.queue}"

    async def start_health(self) -> None:
        if self._snapshot is not None:
            await self._bind_health(self._snapshot)


async def run(settings: Settings, seams: Seams) -> int:
    """The worker: returns the process exit code; the last line it logs is `stopped`."""
    started = time.monotonic()
    ops = WorkerOps(settings, Metrics())
    ending = Exit(ExitReason.FAILED_START, 1)
    try:
        ops.lock()  # two workers on one DATA_DIR would share job folders and a session file
        install_children(settings)  # before any thread: children inherit PATH
    except Exception as exc:  # noqa: BLE001 - start-up boundary; fail_start logs it
        ending = fail_start(exc)
        log.info("stopped reason=%s code=%d", ending.reason, ending.code)
        return ending.code
    try:
        ending = await _serve(settings, ops, started, seams)
    except asyncio.CancelledError:
        ending = Exit(ExitReason.SIGNAL, 0)
        raise
    finally:
        await ops.close()
        log.info("stopped reason=%s code=%d", ending.reason, ending.code)
    return ending.code


async def _serve(settings: Settings, ops: WorkerOps, started: float, seams: Seams) -> Exit:
    loop = asyncio.get_running_loop()
    stop = StopSignal()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.request, ExitReason.SIGNAL, 0)
    url = settings.queue_url
    if url is None:  # launch.py refuses to start a worker without it
        raise StartupError("QUEUE_URL is required to run a worker")
    tuning = Tuning.from_settings(settings)
    name = worker_name()
    async with contextlib.AsyncExitStack() as resources:
        try:
            pools = await resources.enter_async_context(open_pools(settings, seams))
            link = await resources.enter_async_context(open_queue(url, tuning, patient=True))
            parts = _build(settings, ops, pools, link, name, seams)
        except Exception as exc:  # noqa: BLE001 - start-up boundary; fail_start logs it
            return fail_start(exc)
        serving: list[asyncio.Task[None]] = []
        ops.attach(_snapshot(settings, parts, link, name, started), lambda: _alive(serving))
        starting = asyncio.create_task(_start(settings, ops, parts.bot), name="startup")
        stopped = asyncio.create_task(stop.wait(), name="stop-wait")
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            await asyncio.wait({starting}, timeout=STARTUP_CANCEL_S)
        elif (failure := starting.exception()) is not None:
            stopped.cancel()
            await _close(parts)
            return fail_start(failure)
        if not stop.requested:
            serving += [
                asyncio.create_task(parts.events.run(), name="events"),
                asyncio.create_task(link.probe.run(), name="queue-probe"),
                asyncio.create_task(parts.worker.start(), name="saq-worker"),
                asyncio.create_task(trim_now_and_then(Heap.of_this_process()), name="heap-trim"),
            ]
            ops.ready()
            log.info(
                "worker_started version=%s name=%s slots=%d queue=%s seconds=%.2f",
                __version__,
                name,
                settings.download_workers,
                describe(url),
                time.monotonic() - started,
            )
            await asyncio.wait([stopped, *serving], return_when=asyncio.FIRST_COMPLETED)
            if not stop.requested:  # the SAQ worker ended by itself: a bug; restart us
                log.error("worker_ended_unexpectedly")
                stop.request(ExitReason.FAILED_START, 1)
        stopped.cancel()
        ending = await stop.wait()
        log.info("stopping reason=%s", ending.reason)
        await ops.stopping(str(ending.reason))
        await bounded("worker_stop", parts.worker.stop(), WORKER_STOP_S)
        await stop_tasks(serving, TASKS_STOP_S)
        await _close(parts)
    return ending


def _build(
    settings: Settings, ops: WorkerOps, pools: Pools, link: QueueLink, name: str, seams: Seams
) -> _Parts:
    api = settings.telegram_api_url
    # Its uploads take their turns as the front's do (telegram_io/outbound.py); the limits are
    # the bot's, shared with the front and the other workers, which each keep their own pace.
    bot = ExtBot(
        settings.bot_token.get_secret_value(),
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=api_request(settings, RetryPolicy(flood_waits=False), ops.metrics),
        local_mode=settings.bot_api_local_mode,
        rate_limiter=outbound_path(),
    )
    mtproto = None
    if settings.mtproto_enabled:  # its own session file, in this worker's DATA_DIR
        mtproto = MtprotoUploader(seams.mtproto(settings))
    deliverer = RouteDeliverer(
        BotApiUploader(
            bot,
            local_mode=settings.bot_api_local_mode,
            answer_timeout=settings.bot_api_timeout_seconds,
        ),
        mtproto,
        settings.bot_api_upload_limit,
    )
    i18n = I18n()

    def pipeline(*, cache: CacheLookup, records: JobRecorder, deliverer: Deliverer) -> Pipeline:
        return build_pipeline(
            settings,
            pools,
            deliverer=deliverer,
            cache=cache,
            records=records,
            parts=RunLedger(),
            i18n=i18n,
            worker=True,  # a stopped job may go to another worker: keep nothing of it here
        )

    tuning = link.tuning
    events = EventWriter(link.client, tuning.events_maxlen, tuning.call_deadline_s)
    runner = JobRunner(
        pipelines=pipeline,
        deliverer=deliverer,
        client=link.client,
        queue=link.queue,
        events=events,
        tuning=link.tuning,
        name=name,
        on_outcome=lambda report: record_job(ops.metrics, report),
    )
    worker = build_worker(
        link.queue, runner, slots=settings.download_workers, tuning=link.tuning, name=name
    )
    return _Parts(bot, mtproto, events, runner, worker)


async def _start(settings: Settings, ops: WorkerOps, bot: Bot) -> None:
    # What a worker killed mid-job left behind belongs to jobs that run elsewhere now.
    shutil.rmtree(settings.data_dir / "jobs", ignore_errors=True)
    await bot.initialize()  # getMe: the token works, Telegram (or PROXY_URL) is reachable
    await ops.start_health()


def _snapshot(
    settings: Settings, parts: _Parts, link: QueueLink, name: str, started: float
) -> Callable[[], WorkerHealth]:
    def snapshot() -> WorkerHealth:
        return WorkerHealth(
            worker=name,
            version=__version__,
            uptime_s=time.monotonic() - started,
            jobs_running=parts.runner.running,
            slots=settings.download_workers,
            mtproto=parts.mtproto.state if parts.mtproto is not None else "disabled",
            queue=link.probe.state,
        )

    return snapshot


def _alive(serving: list[asyncio.Task[None]]) -> bool:
    return all(not task.done() for task in serving)


async def _close(parts: _Parts) -> None:
    if parts.mtproto is not None:
        await bounded("mtproto_close", parts.mtproto.close(), STEP_S)
    await bounded("bot_shutdown", parts.bot.shutdown(), STEP_S)
