"""A worker's reports to the front, written to Redis in the order they were made.

One writer task owns the writes: durable reports go to the events stream one after another
(the patient client waits out an outage, so none is dropped, and none overtakes another);
progress goes to its own capped stream, only the latest per job, after the durable ones.
`emit`-style callers never wait; `send` waits until its report is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.jobs.events import Progress
from bot.remote import keys
from bot.remote.redis_client import UNAVAILABLE
from bot.remote.wire import Report, Shown, encode

log = logging.getLogger(__name__)

FIELD = "r"  # each stream entry holds one report, as JSON, in this field
RETRY_S = 1.0  # after an error Redis answered (not an outage: the client waits those out)

# Adds writes to the transaction that stores a report (the ledger's "outcome sent" mark).
Also = Callable[[Pipeline], None]


@dataclass(eq=False)
class _Durable:
    text: str
    also: Also | None = None
    stored: asyncio.Future[None] | None = field(default=None)


class Outbox:
    def __init__(self, client: Redis, progress_maxlen: int) -> None:
        self._client = client
        self._maxlen = progress_maxlen
        self._durable: deque[_Durable] = deque()
        self._progress: dict[int, Progress] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def post(self, report: Report) -> None:
        """Store `report` soon, after every report posted before it; never waits."""
        self._durable.append(_Durable(encode(report)))
        self._kick()

    async def send(self, report: Report, also: Also | None = None) -> None:
        """Store `report` (with `also`'s writes, in one transaction) and return once stored.
        Cancelling the wait does not withdraw the report."""
        stored = asyncio.get_running_loop().create_future()
        self._durable.append(_Durable(encode(report), also, stored))
        self._kick()
        await asyncio.shield(stored)

    def progress(self, job_id: int, progress: Progress) -> None:
        """The job's latest progress; an older one not yet written is replaced."""
        self._progress[job_id] = progress
        self._kick()

    async def drain(self, seconds: float) -> bool:
        """Wait up to `seconds` for every durable report to be stored; returns whether they
        were (those left are lost with the process: their jobs run again elsewhere)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while self._durable:
                    self._idle.clear()
                    await self._idle.wait()
        return not self._durable

    async def run(self) -> None:
        """The writer: until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._durable or self._progress:
                if self._durable:
                    await self._store(self._durable[0])
                    item = self._durable.popleft()
                    if item.stored is not None and not item.stored.done():
                        item.stored.set_result(None)
                else:
                    await self._store_progress(*self._progress.popitem())
            self._idle.set()

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def _store(self, item: _Durable) -> None:
        while True:
            try:
                async with self._client.pipeline(transaction=True) as pipe:
                    pipe.xadd(keys.EVENTS, {FIELD: item.text})
                    if item.also is not None:
                        item.also(pipe)
                    await pipe.execute()
            except UNAVAILABLE as exc:  # an answer such as OOM or NOAUTH: try again, slowly
                log.warning("report_not_stored error=%r retry_in=%.0fs", exc, RETRY_S)
                await asyncio.sleep(RETRY_S)
                continue
            return

    async def _store_progress(self, job_id: int, progress: Progress) -> None:
        text = encode(Shown(job_id, progress))
        try:
            await self._client.xadd(
                keys.PROGRESS, {FIELD: text}, maxlen=self._maxlen, approximate=True
            )
        except UNAVAILABLE as exc:  # progress is lossy by design
            log.debug("progress_not_stored job=%d error=%r", job_id, exc)
