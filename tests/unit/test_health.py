"""The health server: what an operator's curl or a Prometheus scrape gets back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.ops.health import HealthSnapshot
from bot.ops.health_server import HealthServer
from bot.ops.metrics import Metrics

SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_]+="[^"]*"(,[a-zA-Z_]+="[^"]*")*\})? \S+$'
)


class World:
    """What the snapshot reads; tests change it between requests."""

    def __init__(self) -> None:
        self.problem: str | None = None

    def snapshot(self) -> HealthSnapshot:
        return HealthSnapshot(
            version="0.1.0",
            uptime_s=123.456,
            seconds_since_poll=75.0 if self.problem else 1.2,
            jobs_running=2,
            jobs_queued=5,
            mtproto="connected",
            problem=self.problem,
        )


@pytest.fixture
async def served() -> AsyncIterator[tuple[World, Metrics, httpx.AsyncClient]]:
    world, metrics = World(), Metrics()
    server = HealthServer("127.0.0.1", 0, world.snapshot, metrics)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as client:
            yield world, metrics, client
    finally:
        await server.stop()


async def test_health_ok(served: tuple[World, Metrics, httpx.AsyncClient]) -> None:
    _, _, client = served
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": "0.1.0",
        "uptime_s": 123.5,
        "seconds_since_poll": 1.2,
        "jobs_running": 2,
        "jobs_queued": 5,
        "mtproto": "connected",
        "problem": None,
    }


async def test_health_stalled_is_503(served: tuple[World, Metrics, httpx.AsyncClient]) -> None:
    world, _, client = served
    world.problem = "no getUpdates round trip for 75s (limit 60s)"
    response = await client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "stalled"
    assert body["problem"] == world.problem
    assert body["seconds_since_poll"] == 75.0


async def test_metrics_text(served: tuple[World, Metrics, httpx.AsyncClient]) -> None:
    _, metrics, client = served
    metrics.inc("downloads_total", outcome="delivered")
    metrics.set_gauge_fn("jobs_running", lambda: 3)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = response.text.splitlines()
    assert 'tgfetch_downloads_total{outcome="delivered"} 1.0' in lines
    assert "tgfetch_jobs_running 3.0" in lines
    for line in lines:
        assert line.startswith("# ") or SAMPLE.match(line), line


async def test_other_paths_are_404(served: tuple[World, Metrics, httpx.AsyncClient]) -> None:
    _, _, client = served
    assert (await client.get("/")).status_code == 404
    assert (await client.get("/healthz")).status_code == 404


async def test_stop_releases_the_port() -> None:
    server = HealthServer("127.0.0.1", 0, World().snapshot, Metrics())
    await server.start()
    port = server.port
    await server.stop()
    again = HealthServer("127.0.0.1", port, World().snapshot, Metrics())
    await again.start()
    assert again.port == port
    await again.stop()
