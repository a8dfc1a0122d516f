"""The operator's window: GET /health (JSON, 503 when unhealthy) and GET /metrics.

aiohttp is imported only here, and this module only when HEALTH_PORT is set: an idle bot
without it keeps aiohttp's memory (about 8 MB) to itself."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from bot.ops.health import HealthReport
from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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
