"""Upload while downloading: a plain file of known size that is not media goes to Telegram as
it arrives, so its delivery takes about the longer of the two transfers instead of their sum.

Only what needs nothing done to it: a file whose name and first bytes show no media container
(media/sniff.py; media is probed, maybe remuxed, given a thumbnail, all of which needs the
whole file) and small enough for the streaming route. The upload reads the file behind the
download and sends its last byte only once the download is whole, so a download that fails
leaves Telegram with no whole request: the upload is cut off and the job fails as the download
says. An upload refused or broken before its body was whole lets the download go on, and the
file goes the ordinary way afterwards; one whose answer was lost is not sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path
from typing import Protocol

from bot.download.cancel import StopReason
from bot.download.types import FetchedFile
from bot.jobs.events import Delivering
from bot.jobs.fetch import Fetched
from bot.jobs.outcomes import Delivered, Outcome, SentFile
from bot.jobs.progress import ProgressTracker
from bot.jobs.record import Endings
from bot.jobs.run import JobRun
from bot.media.sniff import HEAD_BYTES, MEDIA_SUFFIXES, looks_like_media
from bot.model.failures import UnconfirmedDeliveryError
from bot.model.job import JobState
from bot.store.cache import CachedFile
from bot.store.links import LinkOutcome
from bot.store.outcomes import Cached, Ending
from bot.upload.caption import caption
from bot.upload.growing import GrowingFile
from bot.upload.types import ProgressFn, StreamedDocument, Uploaded

log = logging.getLogger(__name__)


class StreamSender(Protocol):
    """A route that sends a document from a stream of its bytes (upload/streaming.py)."""

    @property
    def limit(self) -> int: ...

    async def send(
        self, document: StreamedDocument, data: AsyncIterable[bytes], progress: ProgressFn
    ) -> Uploaded | None:
        """None: not sent (refused, or cut before its body was whole)."""
        ...


class StreamThrough:
    """One run's upload while downloading: the fetcher's Watch. `document` names the file
    and says where it goes, from its path and size."""

    def __init__(
        self,
        sender: StreamSender,
        tracker: ProgressTracker,
        document: Callable[[Path, int], StreamedDocument],
    ) -> None:
        self._sender = sender
        self._tracker = tracker
        self._document = document
        self._file: GrowingFile | None = None
        self._task: asyncio.Task[Uploaded | None] | None = None
        self._sent = 0
        self._downloaded = False
        self._whole = False

    @property
    def started(self) -> bool:
        """Whether an upload began beside the download."""
        return self._task is not None

    @property
    def handed_over(self) -> bool:
        """Whether the whole request went out: from then on Telegram may have the file."""
        return self._whole

    def begin(self, path: Path, total: int) -> None:
        if 0 < total <= self._sender.limit and path.suffix.lower() not in MEDIA_SUFFIXES:
            self._file = GrowingFile(path, total)

    def grew(self, done: int) -> None:
        file = self._file
        if file is None:
            return
        file.grew(done)
        if self._task is None and done >= min(HEAD_BYTES, file.size):
            with file.path.open("rb") as handle:  # 400 bytes just written: page-cache speed
                head = handle.read(HEAD_BYTES)
            if looks_like_media(head):
                self._file = None  # media: probed once whole, the ordinary way
                return
            log.info("stream_through_started size=%d", file.size)
            self._task = asyncio.create_task(self._send(file), name="stream-through")

    async def delivered(self, fetched: FetchedFile) -> Uploaded | None:
        """Once the download is whole: the upload's answer; None when there was none (or it
        was refused) and the file goes the ordinary way."""
        file, task = self._file, self._task
        if file is None or task is None:
            return None
        if fetched.path != file.path or fetched.size != file.size:
            log.warning("stream_through_mismatch size=%d expected=%d", fetched.size, file.size)
            await self.abort()
            return None
        file.complete()
        self._downloaded = True
        self._tracker.phase("upload")
        self._tracker.update(self._sent, file.size)
        return await task

    async def abort(self) -> None:
        """Cut the upload off before its body is whole (the download failed or stopped)."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.info("stream_through_aborted sent=%d", self._sent)

    async def _send(self, file: GrowingFile) -> Uploaded | None:
        # None: the download goes on, and the ordinary path sends the file.
        return await self._sender.send(
            self._document(file.path, file.size), file.chunks(), self._progress
        )

    def _progress(self, sent: int, total: int) -> None:
        self._sent = sent
        if sent >= total:
            self._whole = True
        if self._downloaded:  # until then the status shows the download
            self._tracker.update(sent, total)


class RunStream(StreamThrough):
    """A StreamThrough for one job run, which records the run's ending when it delivered."""

    def __init__(self, sender: StreamSender, endings: Endings, run: JobRun) -> None:
        job = run.job

        def document(path: Path, size: int) -> StreamedDocument:
            text = caption(run.tr, path.name, size, job.url)
            return StreamedDocument(
                job.chat_id, path.name, text, size, job.reply_to, job.thread_id
            )

        super().__init__(sender, run.tracker, document)
        self._end = endings

    async def finish(self, run: JobRun, fetched: Fetched) -> Outcome | None:
        """The upload that ran beside the download, recorded; None: the ordinary path next."""
        [file] = fetched.files
        if not self.started:
            return None
        run.events.emit(Delivering())
        title = file.path.name
        try:
            sent = await self.delivered(file)
        except UnconfirmedDeliveryError as exc:
            return await self._end.unconfirmed(run, exc, file.size, title)
        except asyncio.CancelledError:
            if not self.handed_over:
                raise  # Telegram cannot have the file: the stop goes on as usual
            reason = run.control.cancel.reason or StopReason.TIMEOUT
            lost = UnconfirmedDeliveryError("botapi", f"stopped: {reason}")
            return await self._end.unconfirmed(run, lost, file.size, title)
        if sent is None:
            return None
        entry = CachedFile(sent.file_id, sent.kind, title, file.size, fetched.more)
        ending = Ending(
            JobState.DONE,
            LinkOutcome.DELIVERED,
            size=file.size,
            title=title,
            cached=Cached(run.key, fetched.choice, entry),
        )
        outcome = Delivered((SentFile(sent.route, file.size),), fetched.more)
        return await self._end.delivered(run, ending, outcome)


class StreamDelivery:
    """The pipeline's way to upload while downloading: a RunStream for each run."""

    def __init__(self, sender: StreamSender, endings: Endings) -> None:
        self._sender = sender
        self._end = endings

    def watch(self, run: JobRun) -> RunStream:
        return RunStream(self._sender, self._end, run)


@contextlib.asynccontextmanager
async def watching(
    delivery: StreamDelivery | None, run: JobRun
) -> AsyncIterator[RunStream | None]:
    """Around the fetch: the run's stream (None without a route for it); a fetch that fails
    or stops cuts its upload off."""
    stream = delivery.watch(run) if delivery is not None else None
    try:
        yield stream
    except BaseException:
        if stream is not None:
            await asyncio.shield(stream.abort())
        raise
