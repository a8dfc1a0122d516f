"""The pipeline's surroundings as a worker provides them, for one run of one job.

The pipeline is the same code as in a single process (bot/jobs/pipeline.py); only what it
talks to differs: its events go to the front on the lossy stream, its records and the cached
formats it found stale are kept for the run's result, the file_id cache is what the front sent
with the job, and the user's format pick arrives through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from redis.asyncio import Redis

from bot.jobs.control import JobControl
from bot.jobs.events import JobEvent
from bot.model.job import FormatChoice
from bot.remote import keys
from bot.remote.events import EventWriter
from bot.remote.ledger import Ledger
from bot.remote.redis_client import UNAVAILABLE, call
from bot.store.cache import CachedFile
from bot.store.outcomes import Ending

log = logging.getLogger(__name__)

CHOICE_POLL_S = 0.5  # how often a run waiting for the user's pick looks for it


class RunReports:
    """The run's EventSink, JobRecorder and CacheLookup (the cached formats of the job's link
    when the front sent it). What the run decided is kept for its result."""

    def __init__(
        self,
        events: EventWriter,
        ledger: Ledger,
        job_id: int,
        url_key: str,
        cached: Mapping[str, CachedFile],
    ) -> None:
        self._events = events
        self._ledger = ledger
        self._job_id = job_id
        self._url_key = url_key
        self._cached = dict(cached)
        self.ending: Ending | None = None
        self.choice: FormatChoice | None = None
        self.dropped: list[str] = []

    def emit(self, event: JobEvent) -> None:
        self._events.emit(self._job_id, event)

    async def started(self, job_id: int) -> None:
        return None  # the front sees its job taken in the queue

    async def chose(self, job_id: int, choice: FormatChoice) -> None:
        self.choice = choice
        await self._ledger.remember_choice(choice)  # an attempt after this one asks no more

    async def record(self, job_id: int, link_id: int | None, ending: Ending) -> None:
        self.ending = ending

    async def get(self, url_key: str, choice: str) -> CachedFile | None:
        return self._cached.get(choice) if url_key == self._url_key else None

    async def drop(self, url_key: str, choice: str) -> None:
        if self._cached.pop(choice, None) is not None:
            self.dropped.append(choice)


class RemoteControl(JobControl):
    """The run's JobControl: the user's pick, while the pipeline asks for it, comes from the
    front through a Redis list (the front pushes; this pops)."""

    def __init__(self, client: Redis, job_id: int, deadline: float) -> None:
        super().__init__()
        self._client = client
        self._key = keys.choice(job_id)
        self._deadline = deadline

    async def wait_choice(self, seconds: float) -> FormatChoice | None:
        listening = asyncio.create_task(self._listen(), name=f"{self._key}-listen")
        try:
            return await super().wait_choice(seconds)
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening

    async def _listen(self) -> None:
        while True:
            try:
                popped = await call(self._deadline, self._client.lpop(self._key))
            except UNAVAILABLE as exc:  # the question's own deadline still runs
                log.debug("choice_unread key=%s error=%r", self._key, exc)
                popped = None
            if not isinstance(popped, bytes):
                await asyncio.sleep(CHOICE_POLL_S)
                continue
            try:
                choice = FormatChoice(popped.decode())
            except ValueError:
                log.warning("choice_unreadable key=%s", self._key)
                continue
            self.choose(choice)
            return
