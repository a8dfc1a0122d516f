"""Redis clients from QUEUE_URL, and the probe that says whether Redis answers.

Two policies (docs/SCALING.md): a *quick* client fails at once, so the front can tell a user
to retry later instead of keeping them waiting; a *patient* client waits out an outage (a
capped backoff, never a spin), for a worker's SAQ loop waiting for jobs. Every call a worker
makes for a job goes through `call`, with a deadline shorter than the claim's lease.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from pydantic import SecretStr
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT_S = 5.0
# A quick client's calls all answer within this (the front's blocking reads wait less).
QUICK_TIMEOUT_S = 10.0
PING_TIMEOUT_S = 2.0
PROBE_UP_S, PROBE_DOWN_S = 5.0, 1.0  # how often the probe pings Redis, up and down

# Everything a broken or restarting Redis raises, and what a caller treats as "unavailable".
UNAVAILABLE: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


async def reply(result: Awaitable[T] | T) -> T:
    """The answer of an asyncio client's command: redis-py types each command for its sync and
    asyncio clients at once (`Awaitable[T] | T`); on ours it is always awaitable."""
    if inspect.isawaitable(result):
        return await cast(Awaitable[T], result)
    return result


async def call(deadline: float, command: Awaitable[T] | T) -> T:
    """A command's answer within `deadline` seconds; past it, TimeoutError (in UNAVAILABLE).
    A command cut off this way closes its connection (redis-py), so no late answer is read."""
    async with asyncio.timeout(deadline):
        return await reply(command)


def describe(url: SecretStr) -> str:
    """QUEUE_URL for the log: scheme, host and port (or socket path), never the password."""
    parts = urlsplit(url.get_secret_value())
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _options(url: SecretStr) -> dict[str, Any]:
    options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT_S}
    if urlsplit(url.get_secret_value()).scheme != "unix":
        # A peer that vanished without a reset (a machine gone) is noticed within a minute,
        # even on a connection blocked in a long read.
        options["socket_keepalive"] = True
        options["socket_keepalive_options"] = {
            socket.TCP_KEEPIDLE: 30,
            socket.TCP_KEEPINTVL: 10,
            socket.TCP_KEEPCNT: 3,
        }
    return options


def quick_client(url: SecretStr) -> Redis:
    """Fails within moments when Redis is away (one quick retry for a dropped connection)."""
    return Redis.from_url(
        url.get_secret_value(),
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.2), retries=1),
        socket_timeout=QUICK_TIMEOUT_S,
        **_options(url),
    )


def patient_client(url: SecretStr) -> Redis:
    """Retries every command until Redis answers, backing off up to 3 s between tries.

    No read timeout: SAQ's slots block in BLMOVE for as long as the queue is empty; a dead
    peer is found by TCP keepalive instead.
    """
    return Redis.from_url(
        url.get_secret_value(),
        retry=Retry(ExponentialWithJitterBackoff(base=0.5, cap=3), retries=-1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
        socket_timeout=None,
        **_options(url),
    )


class QueueProbe:
    """Whether Redis answers: pinged every few seconds (every second while it does not), and
    told of failures by whoever meets one. Each outage is logged once, when it starts and
    when it ends."""

    def __init__(self, client: Redis, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self.up = True
        self._since = clock()
        self._woken = asyncio.Event()

    @property
    def state(self) -> str:
        return "ok" if self.up else "unreachable"

    async def check(self) -> bool:
        """One ping now; returns whether Redis answered."""
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                await reply(self._client.ping())
        except UNAVAILABLE as exc:
            self.failed(exc)
            return False
        self.answered()
        return True

    async def run(self) -> None:
        """Ping until cancelled."""
        while True:
            self._woken.clear()
            wait = PROBE_UP_S if self.up else PROBE_DOWN_S
            try:
                async with asyncio.timeout(wait):
                    await self._woken.wait()
            except TimeoutError:
                pass
            await self.check()

    def answered(self) -> None:
        if not self.up:
            log.warning("queue_reachable after=%.1fs", self._clock() - self._since)
            self.up = True
            self._since = self._clock()

    def failed(self, exc: BaseException) -> None:
        if self.up:
            log.warning("queue_unreachable error=%r", exc)
            self.up = False
            self._since = self._clock()
            self._woken.set()  # the probe turns to its quick pace now
