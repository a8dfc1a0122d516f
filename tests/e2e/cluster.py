"""A bot past one machine, on this one: Redis, the front (`main.py`) and workers
(`main.py worker`), each worker with a DATA_DIR of its own, against the fake Bot API."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import FakeBotApi
from tests.redis_server import RedisServer


class Cluster:
    def __init__(self, bot_api: FakeBotApi, redis: RedisServer, folder: Path) -> None:
        self.bot_api = bot_api
        self.redis = redis
        self.folder = folder
        self.front_dir = folder / "front"
        self.front: Daemon | None = None
        self.workers: list[Daemon] = []
        self._all: list[Daemon] = []

    def env(self, data_dir: Path, overrides: dict[str, str]) -> dict[str, str]:
        env = {
            "BOT_TOKEN": self.bot_api.token,
            "TELEGRAM_API_URL": self.bot_api.url,
            "DATA_DIR": str(data_dir),
            "QUEUE_URL": self.redis.url,
            "ALLOW_PRIVATE_URLS": "true",
            "CHOICE_TIMEOUT_SECONDS": "0",
            "POLL_STALL_SECONDS": "30",
            "LOG_LEVEL": "INFO",
        }
        env.update(overrides)
        return env

    async def start_front(self, **overrides: str) -> Daemon:
        """Start (or start again) the front, and wait until it polls."""
        front = Daemon(self.env(self.front_dir, overrides), cwd=self.folder)
        self.front = front
        self._all.append(front)
        await front.start()
        await front.wait_log("started version=", timeout=30)
        return front

    async def start_workers(self, count: int, **overrides: str) -> list[Daemon]:
        """Start `count` more workers at once, and wait until each takes jobs."""
        first = len(self.workers)
        started = [
            Daemon(
                self.env(self.folder / f"worker{first + i + 1}", overrides),
                cwd=self.folder,
                args=("worker",),
            )
            for i in range(count)
        ]
        self.workers += started
        self._all += started
        await asyncio.gather(*(worker.start() for worker in started))
        await asyncio.gather(
            *(worker.wait_log("worker_started", timeout=30) for worker in started)
        )
        return started

    async def wait_taken(self, job_id: int, attempt: int = 1, timeout: float = 30) -> Daemon:
        """The worker that takes attempt `attempt` of the job, once one has."""
        needle = f"job_taken id={job_id} attempt={attempt}"
        waits = [asyncio.create_task(w.wait_log(needle, timeout)) for w in self.workers]
        try:
            while waits:
                done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if any(not task.exception() for task in done):
                    break
                waits = list(pending)
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        found = self.holder(job_id, attempt)
        if found is None:
            raise AssertionError(f"no worker took attempt {attempt} of job {job_id}")
        return found

    def holder(self, job_id: int, attempt: int = 1) -> Daemon | None:
        """The worker that took attempt `attempt` of the job, if one has."""
        needle = f"job_taken id={job_id} attempt={attempt}"
        return next((w for w in self.workers if needle in w.output), None)

    def links(self) -> dict[str, int]:
        """How the front recorded every link: outcome -> count (from its database)."""
        with sqlite3.connect(self.front_dir / "tgfetch.sqlite3") as conn:
            rows = conn.execute("SELECT outcome, COUNT(*) FROM links GROUP BY outcome")
            return {str(outcome): int(count) for outcome, count in rows}

    def status_messages(self) -> list[tuple[int, int]]:
        """(chat, message) of every job's status message the front saved."""
        with sqlite3.connect(self.front_dir / "tgfetch.sqlite3") as conn:
            rows = conn.execute(
                "SELECT chat_id, status_message_id FROM jobs WHERE status_message_id IS NOT NULL"
            )
            return [(int(chat), int(message)) for chat, message in rows]

    async def stop(self) -> None:
        await asyncio.gather(*(daemon.stop() for daemon in self._all), return_exceptions=True)
