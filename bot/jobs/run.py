"""One run of one job, and the deliverer its stages hand files to.

The pipeline (pipeline.py) creates a JobRun per attempt and passes it to every stage: the
cache, the fetch, parts (parts.py), albums (albums.py), uploading while downloading
(stream_through.py), /pdf (pages.py) and the record stage (record.py). They all import these
types from here and never the pipeline, so the files of the job engine import in one direction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.download.ytdlp import PageInfo
from bot.i18n import Translator
from bot.jobs.control import JobControl
from bot.jobs.events import EventSink
from bot.jobs.outcomes import Outcome
from bot.jobs.progress import ProgressTracker
from bot.model.job import Job
from bot.model.media import MediaKind
from bot.upload.album import Resent
from bot.upload.types import Delivery, ProgressFn, Uploaded


class FileSender(Protocol):
    """Sends one file into a chat: what a stage that sends a single file needs."""

    @property
    def capacity(self) -> int: ...

    async def deliver(self, delivery: Delivery, progress: ProgressFn) -> Uploaded: ...


class Deliverer(FileSender, Protocol):
    """Everything the pipeline sends: files, albums, and resends of what Telegram has."""

    async def resend(
        self,
        chat_id: int,
        kind: MediaKind,
        file_id: str,
        caption: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Uploaded: ...

    @property
    def album_limit(self) -> int: ...

    async def send_album(
        self, deliveries: list[Delivery], progress: ProgressFn
    ) -> list[Uploaded]: ...

    async def resend_album(
        self,
        chat_id: int,
        items: list[Resent],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[Uploaded]: ...


@dataclass(eq=False)
class JobRun:
    """One run of one job: what its stages share."""

    job: Job
    control: JobControl
    events: EventSink
    tr: Translator
    folder: Path
    key: str
    tracker: ProgressTracker = field(default_factory=ProgressTracker)
    # Set the moment Telegram has the file (or may have it): from then on a stop must not undo
    # the delivery. The future resolves once the delivery is recorded; the outcome is its own.
    delivered: tuple[asyncio.Future[None], Outcome] | None = None
    answered: Outcome | None = None  # the chosen format came from the cache
    playlist: PageInfo | None = None  # the user asked for every item of this page
