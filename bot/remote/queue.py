"""The SAQ queue on our own Redis client (SAQ's from_url refuses unix:// and knows no retry
policy), with the sweep's wait cut to our timers."""

from __future__ import annotations

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

from bot.remote import keys
from bot.remote.tuning import Tuning


class JobQueue(RedisQueue):
    def __init__(self, client: Redis, tuning: Tuning) -> None:
        super().__init__(client, name=keys.QUEUE)
        self._sweep_wait = tuning.sweep_wait

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        # A sweep waits this long for the worker of a stuck job to confirm it stopped; a dead
        # worker never does, so the wait is part of every hand-over.
        return await super().sweep(lock, abort=min(abort, self._sweep_wait))
