"""The connections to Redis that a front or a worker holds for its whole life."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pydantic import SecretStr
from redis.asyncio import Redis

from bot.remote.queue import WorkQueue
from bot.remote.redis_client import UNAVAILABLE, QueueProbe, patient_client, quick_client
from bot.remote.tuning import Tuning

log = logging.getLogger(__name__)

DISCONNECT_S = 1.0


@dataclass(frozen=True, slots=True)
class QueueLink:
    """`client` is the one the queue uses: quick on the front, patient on a worker; the probe
    has a quick one of its own."""

    client: Redis
    queue: WorkQueue
    probe: QueueProbe
    tuning: Tuning


@contextlib.asynccontextmanager
async def open_queue(url: SecretStr, tuning: Tuning, *, patient: bool) -> AsyncIterator[QueueLink]:
    """Nothing is sent to Redis here: a front or worker starts while Redis is away, and
    works once it is back."""
    client = patient_client(url) if patient else quick_client(url)
    pinging = quick_client(url) if patient else client
    queue = WorkQueue(client, tuning)
    await queue.connect()
    try:
        yield QueueLink(client, queue, QueueProbe(pinging), tuning)
    finally:
        try:
            # SAQ unsubscribes its pub/sub first, which waits for Redis: not for long.
            async with asyncio.timeout(DISCONNECT_S):
                await queue.disconnect()  # closes `client`
        except UNAVAILABLE:  # TimeoutError is one of them
            log.info("queue_disconnect_cut_short")
            await client.aclose()
        if pinging is not client:
            await pinging.aclose()
