"""What an operator watches, in one place: instance lock, systemd notify and watchdog, /health."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import __version__
from bot.config.settings import Settings, StartupError
from bot.ops.health import HealthReport, HealthSnapshot
from bot.ops.lock import InstanceLock
from bot.ops.metrics import Metrics
from bot.ops.notify import Notifier, WatchdogPinger
from bot.ops.stop import ExitReason, StopSignal
from bot.telegram_io.polling import PollMonitor

if TYPE_CHECKING:
    from bot.ops.health_server import HealthServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Load:
    """Live figures read at every /health request and watchdog tick."""

    running: Callable[[], int]
    queued: Callable[[], int]
    mtproto: Callable[[], str]
    queue: Callable[[], str | None] = lambda: None  # Redis's state, with QUEUE_URL


class ProcessOps:
    """What every tgfetch process has, the front and a worker alike: the instance lock on
    DATA_DIR, systemd's notify and watchdog, and /health and /metrics. A subclass says what
    "healthy" means and what its status line reads."""

    def __init__(self, settings: Settings, metrics: Metrics, healthy: Callable[[], bool]) -> None:
        self._settings = settings
        self.metrics = metrics
        self._lock = InstanceLock(settings.data_dir)
        self._notifier = Notifier(settings.notify_socket)
        self._pinger = WatchdogPinger(
            self._notifier,
            settings.watchdog_usec,
            healthy=healthy,
            status_line=self.status_line,
        )
        self._health: HealthServer | None = None

    def status_line(self) -> str:
        raise NotImplementedError

    def lock(self) -> None:
        """Raises AlreadyRunningError when another tgfetch uses the same DATA_DIR."""
        self._lock.acquire()

    async def _bind_health(self, snapshot: Callable[[], HealthReport]) -> None:
        """Binds the health server (if HEALTH_PORT is set; 0 picks a free port, and the log
        line `health_listening` names it); an unusable port stops start-up."""
        port = self._settings.health_port
        if port is None:
            return
        from bot.ops.health_server import HealthServer  # aiohttp, only with HEALTH_PORT

        server = HealthServer(self._settings.health_host, port, snapshot, self.metrics)
        try:
            await server.start()
        except OSError as exc:
            raise StartupError(f"HEALTH_PORT {port}: {exc}", exit_code=1) from exc
        self._health = server

    def ready(self) -> None:
        """Running: tell systemd, and start feeding the watchdog while it stays healthy."""
        self._notifier.ready(self.status_line())
        self._pinger.start()

    async def stopping(self, why: str) -> None:
        """No more watchdog pings; systemd is told that we stop, and why."""
        await self._pinger.stop()
        self._notifier.send(STOPPING=1, STATUS=f"stopping: {why}")

    async def close(self) -> None:
        if self._health is not None:
            await self._health.stop()
            self._health = None
        self._lock.release()


class Operations(ProcessOps):
    """Created before anything else; `lock()` first so a second instance never polls."""

    def __init__(
        self,
        settings: Settings,
        monitor: PollMonitor,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monitor = monitor
        self._clock = clock
        self._started = clock()
        self._load = Load(lambda: 0, lambda: 0, lambda: "disabled")
        super().__init__(settings, metrics, healthy=lambda: monitor.healthy)

    def attach(self, load: Load) -> None:
        self._load = load
        self.metrics.set_gauge_fn("jobs_running", lambda: float(load.running()))
        self.metrics.set_gauge_fn("jobs_queued", lambda: float(load.queued()))
        self.metrics.set_gauge_fn("seconds_since_last_poll", self._monitor.seconds_since_last)
        if load.queue() is not None:
            self.metrics.set_gauge_fn("queue_up", lambda: float(load.queue() == "ok"))

    def snapshot(self) -> HealthSnapshot:
        return HealthSnapshot(
            version=__version__,
            uptime_s=round(self._clock() - self._started, 1),
            seconds_since_poll=round(self._monitor.seconds_since_last(), 1),
            jobs_running=self._load.running(),
            jobs_queued=self._load.queued(),
            mtproto=self._load.mtproto(),
            problem=self._monitor.problem(),
            queue=self._load.queue(),
        )

    def status_line(self) -> str:
        problem = self._monitor.problem()
        if problem is not None:
            return f"polling stalled: {problem}"
        line = f"polling ok; jobs running {self._load.running()}, queued {self._load.queued()}"
        queue = self._load.queue()
        return line if queue is None else f"{line}; queue {queue}"

    async def start_health(self) -> None:
        await self._bind_health(self.snapshot)


async def watch_polling(monitor: PollMonitor, stop: StopSignal) -> None:
    """Ends the daemon (non-zero exit, systemd restarts it) when polling has died."""
    interval = max(0.2, min(1.0, monitor.stall_seconds / 4))
    while stop.requested is None:
        await asyncio.sleep(interval)
        problem = monitor.problem()
        if problem is not None:
            log.error("polling_dead %s; exiting so the supervisor restarts the bot", problem)
            reason = ExitReason.TOKEN_REJECTED if monitor.fatal else ExitReason.POLLING_STALLED
            stop.request(reason, 1)
            return
