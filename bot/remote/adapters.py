"""The pipeline's surroundings as a worker provides them, for one run of one job.

The pipeline is the same code as in a single process (bot/jobs/pipeline.py); only what it
talks to differs: its events and its records become reports to the front (which shows and
stores them), the file_id cache is what the front sent with the job, and the user's format
pick arrives through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from redis.asyncio import Redis

from bot.jobs.control import JobControl
from bot.jobs.events import JobEvent, Progress
from bot.model.job import FormatChoice
from bot.remote import keys
from bot.remote.ledger import Ledger
from bot.remote.outbox import Outbox
from bot.remote.redis_client import reply
from bot.remote.wire import Began, CacheDropped, Chose, Shown
from bot.store.cache import CachedFile
from bot.store.outcomes import Ending

log = logging.getLogger(__name__)

CHOICE_POLL_S = 1  # BLPOP's own wait for the user's pick, in whole seconds


class RunReports:
    """The run's EventSink and JobRecorder: events and records go to the front, in order.

    How the run ended is kept (`ending`), not sent: the worker sends it with the outcome, as
    one report, once the pipeline has returned.
    """

    def __init__(
        self, outbox: Outbox, ledger: Ledger, *, job_id: int, attempt: int, worker: str
    ) -> None:
        self._outbox = outbox
        self._ledger = ledger
        self._job_id = job_id
        self._attempt = attempt
        self._worker = worker
        self.ending: Ending | None = None

    def emit(self, event: JobEvent) -> None:
        if isinstance(event, Progress):
            self._outbox.progress(self._job_id, event)
        else:
            self._outbox.post(Shown(self._job_id, event))

    async def started(self, job_id: int) -> None:
        self._outbox.post(Began(job_id, self._attempt, self._worker))

    async def chose(self, job_id: int, choice: FormatChoice) -> None:
        await self._ledger.remember_choice(choice)  # an attempt after this one asks no more
        self._outbox.post(Chose(job_id, choice))

    async def record(self, job_id: int, link_id: int | None, ending: Ending) -> None:
        self.ending = ending


class SnapshotCache:
    """The run's CacheLookup: the cached formats of the job's link when the front sent it."""

    def __init__(self, outbox: Outbox, url_key: str, files: Mapping[str, CachedFile]) -> None:
        self._outbox = outbox
        self._url_key = url_key
        self._files = dict(files)

    async def get(self, url_key: str, choice: str) -> CachedFile | None:
        return self._files.get(choice) if url_key == self._url_key else None

    async def drop(self, url_key: str, choice: str) -> None:
        self._files.pop(choice, None)
        self._outbox.post(CacheDropped(url_key, choice))


class RemoteControl(JobControl):
    """The run's JobControl: the user's pick, while the pipeline asks for it, comes from the
    front through a Redis list (the front pushes; this BLPOPs)."""

    def __init__(self, client: Redis, job_id: int) -> None:
        super().__init__()
        self._client = client
        self._key = keys.choice(job_id)

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
            popped = await reply(self._client.blpop([self._key], timeout=CHOICE_POLL_S))
            if popped is None:
                continue
            try:
                choice = FormatChoice(popped[1].decode())
            except ValueError:
                log.warning("choice_unreadable key=%s", self._key)
                continue
            self.choose(choice)
            return
