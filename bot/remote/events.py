"""The lossy stream of job events from the workers to the front: progress, the format question,
the phases of a run. What is lost is only a moment of a status message (the result, which
decides what the user is told, is stored with the job by SAQ); a front that was away does not
replay it.

A worker's writer sends what waits in one round trip, events in order and then the latest
progress of each job; a write Redis does not answer in time is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis

from bot.jobs.events import JobEvent, Progress
from bot.remote import keys
from bot.remote.redis_client import UNAVAILABLE, QueueProbe, reply
from bot.remote.wire import Shown, WireError

log = logging.getLogger(__name__)

FIELD = "e"  # each stream entry holds one Shown, as JSON, in this field
BLOCK_MS = 2000  # one read waits this long (the quick client's timeout is longer)
BATCH = 200
BACKOFF_S = (1.0, 2.0, 5.0)  # between reads while Redis is away


class EventWriter:
    """A worker's side: `emit` never waits; `run` writes until cancelled."""

    def __init__(self, client: Redis, maxlen: int, deadline: float) -> None:
        self._client = client
        self._maxlen = maxlen
        self._deadline = deadline
        self._events: list[Shown] = []
        self._progress: dict[int, Progress] = {}
        self._wake = asyncio.Event()

    def emit(self, job_id: int, event: JobEvent) -> None:
        if isinstance(event, Progress):
            self._progress[job_id] = event  # an older one not yet written is replaced
        else:
            self._events.append(Shown(job_id=job_id, event=event))
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = [*self._events, *(Shown(job_id=j, event=p) for j, p in self._progress.items())]
            self._events, self._progress = [], {}
            try:
                async with asyncio.timeout(self._deadline):
                    async with self._client.pipeline(transaction=False) as pipe:
                        for shown in batch:
                            text = shown.model_dump_json()
                            pipe.xadd(keys.EVENTS, {FIELD: text}, maxlen=self._maxlen)
                        await pipe.execute()
            except UNAVAILABLE as exc:
                log.debug("events_dropped count=%d error=%r", len(batch), exc)


class EventReader:
    """The front's side: shows each event read, from where the stream stood at the start."""

    def __init__(
        self, client: Redis, probe: QueueProbe, show: Callable[[int, JobEvent], None]
    ) -> None:
        self._client = client
        self._probe = probe
        self._show = show
        self._last: str | None = None

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                entries = await self._read()
            except UNAVAILABLE as exc:
                self._probe.failed(exc)
                await asyncio.sleep(BACKOFF_S[min(failures, len(BACKOFF_S) - 1)])
                failures += 1
                continue
            failures = 0
            self._probe.answered()
            for entry_id, fields in entries:
                self._last = entry_id.decode()
                try:
                    shown = Shown.read(fields[FIELD.encode()])
                except (KeyError, WireError) as exc:
                    log.warning("event_unreadable id=%s error=%s", self._last, exc)
                    continue
                self._show(shown.job_id, shown.event)

    async def _read(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        if self._last is None:  # from now on
            newest = await reply(self._client.xrevrange(keys.EVENTS, count=1))
            self._last = newest[0][0].decode() if newest else "0-0"
        answer = await reply(
            self._client.xread({keys.EVENTS: self._last}, count=BATCH, block=BLOCK_MS)
        )
        return [entry for _stream, entries in answer or [] for entry in entries]
