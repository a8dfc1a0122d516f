"""The operator's window: GET /health (JSON, 503 when unhealthy: polling stalled, or a
worker's queue unreachable) and GET /metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HealthReport(Protocol):
    """What /health answers: a JSON body, 200 when healthy and 503 when not."""

    @property
    def healthy(self) -> bool: ...

    def body(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """What /health reports of the polling daemon, taken fresh for every request."""

    version: str
    uptime_s: float
    seconds_since_poll: float
    jobs_running: int
    jobs_queued: int
    mtproto: str
    # Why polling is considered dead (PollMonitor.problem()), or None while it is healthy.
    problem: str | None = None
    # With QUEUE_URL: whether Redis answers ("ok", "unreachable"); None: no queue.
    queue: str | None = None

    @property
    def stalled(self) -> bool:
        return self.problem is not None

    @property
    def healthy(self) -> bool:
        return not self.stalled

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "stalled" if self.stalled else "ok",
            "version": self.version,
            "uptime_s": round(self.uptime_s, 1),
            "seconds_since_poll": round(self.seconds_since_poll, 1),
            "jobs_running": self.jobs_running,
            "jobs_queued": self.jobs_queued,
            "mtproto": self.mtproto,
            "problem": self.problem,
        }
        if self.queue is not None:
            body["queue"] = self.queue
        return body


class HealthServer:
    """aiohttp on the running loop; bind it to 127.0.0.1 unless a scraper lives elsewhere."""

    def __init__(
        self, host: str, port: int, snapshot: Callable[[], HealthReport], metrics: Metrics
    ) -> None:
        self._host = host
        self._port = port
        self._snapshot = snapshot
        self._metrics = metrics
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when started with port 0)."""
        if self._runner is None:
            raise RuntimeError("the health server is not running")
        address = self._runner.addresses[0]
        return int(address[1])

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._render_metrics)
        # access_log=None: a scraper every 15 s would drown the log.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("health_listening host=%s port=%d", self._host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _health(self, _request: web.Request) -> web.Response:
        snap = self._snapshot()
        return web.json_response(
            snap.body(), status=200 if snap.healthy else 503, headers={"Cache-Control": "no-store"}
        )

    async def _render_metrics(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self._metrics.render().encode(), headers={"Content-Type": METRICS_CONTENT_TYPE}
        )


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    """What /health reports of a download worker (`main.py worker`): unhealthy (503) while
    Redis does not answer, since it can take no work then."""

    worker: str
    version: str
    uptime_s: float
    jobs_running: int
    slots: int
    mtproto: str
    queue: str  # "ok" or "unreachable"

    @property
    def healthy(self) -> bool:
        return self.queue == "ok"

    def body(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "queue_unreachable",
            "role": "worker",
            "worker": self.worker,
            "version": self.version,
            "uptime_s": round(self.uptime_s, 1),
            "jobs_running": self.jobs_running,
            "slots": self.slots,
            "mtproto": self.mtproto,
            "queue": self.queue,
        }
