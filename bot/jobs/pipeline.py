"""One job from link to file: cache → fetch → post-process → deliver → record.

The pipeline returns a typed outcome, already recorded, and tells what it does through events;
it never talks to the chat (the presenter does), so it runs wherever its fetchers and its
deliverer can: in this process, or on a worker elsewhere. Its surroundings are small Protocols:
an EventSink, a CacheLookup and a JobRecorder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.config.limits import LARGE_FILES_ADVICE
from bot.config.settings import SplitFiles
from bot.download.cancel import StoppedError, StopReason
from bot.download.resume import tidy
from bot.download.ytdlp import PageInfo
from bot.i18n import Translator
from bot.jobs.albums import AlbumLimits, AlbumSender
from bot.jobs.control import JobControl
from bot.jobs.events import Chosen, Delivering, EventSink, NeedChoice, Started
from bot.jobs.fetch import PRESETS, FetchElsewhereError, FetchStage, cache_choices, cache_key
from bot.jobs.handover import hand_over
from bot.jobs.outcomes import Delivered, Interrupted, Outcome, SentFile
from bot.jobs.pages import PageStage
from bot.jobs.parking import ParkPolicy
from bot.jobs.parts import PartLedger, PartSender
from bot.jobs.postprocess import Deliverable, PostProcess, post_process
from bot.jobs.progress import tick
from bot.jobs.record import Endings, JobRecorder, settle
from bot.jobs.run import Deliverer, JobRun
from bot.jobs.stream_through import StreamDelivery, StreamSender, watching
from bot.model.failures import (
    DeliveryError,
    FailureReason,
    FetchError,
    JobError,
    StaleFileIdError,
    UnconfirmedDeliveryError,
    is_disk_full,
)
from bot.model.job import FormatChoice, Job, JobState
from bot.store.cache import CachedFile
from bot.store.links import LinkOutcome
from bot.store.outcomes import Cached, Ending
from bot.upload.caption import caption
from bot.upload.types import Delivery, Uploaded

log = logging.getLogger(__name__)


class CacheLookup(Protocol):
    """The file_id cache: what Telegram already has, by normalized URL and format choice."""

    async def get(self, url_key: str, choice: str) -> CachedFile | None: ...

    async def drop(self, url_key: str, choice: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    data_dir: Path
    job_timeout: float
    choice_timeout: float
    split: SplitFiles = SplitFiles.OFF  # what is sent in parts when Telegram takes less
    max_items: int = 50  # a playlist's items sent when the user asks for all
    job_limit: int = 0  # bytes all of one job's files may come to (with `split` on)
    # A restart keeps the job's folder so that its download continues. Not on a worker of a
    # queue: another worker may take the job up, and nothing would clear the folder here.
    keep_interrupted: bool = True
    park: ParkPolicy | None = None  # a site's refusal for now parks the job (PARK_RETRY_HOURS)


class Pipeline:
    """Stateless across jobs: everything about one run lives in its JobRun."""

    def __init__(
        self,
        *,
        config: PipelineConfig,
        fetcher: FetchStage,
        postprocess: PostProcess,
        deliverer: Deliverer,
        cache: CacheLookup,
        records: JobRecorder,
        parts: PartLedger,
        translator: Callable[[str], Translator],
        streamer: StreamSender | None = None,
        pages: PageStage | None = None,
    ) -> None:
        self._cfg = config
        self._fetcher = fetcher
        self._postprocess = postprocess
        self._deliverer = deliverer
        self._cache = cache
        self._records = records
        self._end = Endings(records, config.data_dir, config.park)
        # Uploads while downloading (stream_through.py); None: never.
        self._stream = StreamDelivery(streamer, self._end) if streamer is not None else None
        self._parts = PartSender(deliverer, parts, self._end, config.split)
        limits = AlbumLimits(config.max_items, lambda: self._item_cap, config.job_limit)
        self._albums = AlbumSender(fetcher, postprocess, deliverer, parts, self._end, limits)
        self._translator = translator
        self._pages = pages  # /pdf jobs; None: printed elsewhere (a front's workers)

    def folder_of(self, job_id: int) -> Path:
        return self._cfg.data_dir / "jobs" / str(job_id)

    async def in_cache(self, job: Job) -> bool:
        """Whether stage 1 has a file for the job: a read, nothing recorded or shown."""
        key = cache_key(job)
        return any([await self._cache.get(key, choice) for choice in cache_choices(job)])

    async def run(self, job: Job, control: JobControl, events: EventSink) -> Outcome:
        """Run the job once; returns how it ended, already recorded. Never raises but for a
        cancellation that comes after the outcome is known."""
        tr = self._translator(job.language)
        folder = self.folder_of(job.id)
        run = JobRun(job, control, events, tr, folder, cache_key(job))
        ticker = asyncio.create_task(tick(run.tracker, lambda: run.control.asking, run.events))
        outcome: Outcome | None = None
        try:
            outcome = await self._attempt(run)
            return outcome
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            if not (self._cfg.keep_interrupted and isinstance(outcome, Interrupted)):
                shutil.rmtree(folder, ignore_errors=True)  # else a restart continues from it

    async def _attempt(self, run: JobRun) -> Outcome:
        job, cancel = run.job, run.control.cancel
        try:
            run.events.emit(Started())
            await self._records.started(job.id)
            cancel.expire_in(self._cfg.job_timeout)  # the worker thread's own clock
            async with asyncio.timeout(self._cfg.job_timeout):
                return await self._stages(run)
        except FetchElsewhereError:
            raise  # not this process's to fetch: the engine sends the job on, nothing said
        except (TimeoutError, StoppedError, asyncio.CancelledError) as exc:
            if run.delivered is not None:  # stopped after Telegram took the file
                return await settle(run.delivered)
            if isinstance(exc, TimeoutError):
                cancel.cancel(StopReason.TIMEOUT)  # stops what still runs, and says when
            reason = cancel.reason
            if isinstance(exc, StoppedError):
                reason = exc.reason
            if isinstance(exc, TimeoutError):
                reason = StopReason.TIMEOUT
            return await self._stopped(run, reason or StopReason.CANCELLED)
        except JobError as exc:
            log.info("job_failed id=%d reason=%s detail=%s", job.id, exc.reason, exc.detail)
            return await self._end.failed(run, exc)
        except Exception as exc:
            if run.delivered is not None:  # the file went out; only its bookkeeping failed
                return await settle(run.delivered)
            if is_disk_full(exc):  # a write anywhere: the job's folder, a probe's thumbnail
                return await self._end.failed(run, JobError(FailureReason.DISK_FULL, str(exc)))
            log.exception("job_crashed id=%d", job.id)
            return await self._end.failed(
                run, JobError(FailureReason.INTERNAL, type(exc).__name__)
            )

    async def _stages(self, run: JobRun) -> Outcome:
        job = run.job
        if job.choice is FormatChoice.PDF:  # /pdf: the page itself, printed (pages.py)
            if self._pages is None:
                raise FetchElsewhereError
            return await self._pages.deliver(run, run.folder, run.tr, self._deliverer, self._end)
        # 1. cache: a link delivered before is resent by file_id
        for choice in cache_choices(job):
            if (cached := await self._from_cache(run, str(choice))) is not None:
                return cached
        # 2. fetch: a download a restart cut short continues; anything else left goes first
        await asyncio.to_thread(tidy, run.folder, job.url)
        try:
            async with watching(self._stream, run) as early:
                fetched = await self._fetcher.fetch(
                    job.url,
                    run.folder,
                    run.tracker.update,
                    run.control.cancel,
                    self._cap,
                    lambda page: self._choose(run, page),
                    file_cap=self._file_cap,
                    watch=early,
                )
        except FetchError as exc:
            if exc.reason is FailureReason.TOO_LARGE:
                raise self._too_large(exc.params.get("size"), exc.params.get("limit")) from exc
            raise
        if fetched is None:
            if run.answered is not None:
                return run.answered  # the chosen format was in the cache
            assert run.playlist is not None  # noqa: S101 - _choose set one of the two
            return await self._albums.deliver(run, run.playlist)
        if early is not None and (streamed := await early.finish(run, fetched)):
            return streamed  # it went up while it came down
        # 3. post-process (postprocess.py)
        ready = await post_process(self._postprocess, fetched, as_file=job.prefs.as_file)
        # 4. deliver, 5. record
        return await self._deliver(run, ready, fetched.choice)

    async def _deliver(self, run: JobRun, ready: Deliverable, choice: str) -> Outcome:
        if ready.size > self._deliverer.capacity:  # fetched only when it may go in parts
            return await self._parts.deliver(run, ready, choice)
        job = run.job
        text = caption(run.tr, ready.title, ready.size, job.url)
        run.events.emit(Delivering())
        run.tracker.phase("upload")
        info = ready.prepared.info
        delivery = Delivery(
            job.chat_id, ready.path, ready.filename, text, ready.size, info, *job.answers
        )
        sent = await hand_over(self._deliverer, self._end, run, delivery, ready.title)
        if not isinstance(sent, Uploaded):
            return sent  # the answer was lost: recorded as such
        entry = CachedFile(sent.file_id, sent.kind, ready.title, ready.size, ready.more)
        ending = Ending(
            JobState.DONE,
            LinkOutcome.DELIVERED,
            size=ready.size,
            title=ready.title,
            cached=Cached(run.key, choice, entry),
        )
        outcome = Delivered((SentFile(sent.route, ready.size),), ready.more)
        return await self._end.delivered(run, ending, outcome)

    @property
    def _cap(self) -> int:
        """The largest file worth fetching: the size limit, or less if Telegram takes less and
        nothing is sent in parts (then all the parts together: MAX_JOB_SIZE_MB)."""
        if self._cfg.split is SplitFiles.OFF:
            return min(self._fetcher.max_size, self._deliverer.capacity)
        return min(self._fetcher.max_size, self._cfg.job_limit)

    @property
    def _item_cap(self) -> int:
        """The largest item of a playlist worth fetching: items are not sent in parts."""
        return min(self._fetcher.max_size, self._deliverer.capacity)

    @property
    def _file_cap(self) -> int:
        """The largest plain file worth fetching that is not video or sound: only
        SPLIT_FILES=all sends those in parts."""
        if self._cfg.split is SplitFiles.ALL:
            return self._cap
        return min(self._fetcher.max_size, self._deliverer.capacity)

    def _too_large(self, size: object, limit: object = None) -> JobError:
        """Too large for the limit, or (said differently, with what to configure) for Telegram."""
        cap = limit if isinstance(limit, int) and limit else self._cap
        params: dict[str, object] = {"limit": cap}
        if isinstance(size, int) and size:
            params["size"] = size
        if cap <= self._deliverer.capacity < self._fetcher.max_size:
            # The detail is for the log (job_failed): what the operator could configure.
            return DeliveryError(
                FailureReason.TOO_LARGE_FOR_TELEGRAM, LARGE_FILES_ADVICE, **params
            )
        return FetchError(FailureReason.TOO_LARGE, "", **params)

    async def _stopped(self, run: JobRun, reason: StopReason) -> Outcome:
        log.info("job_stopped id=%d reason=%s", run.job.id, reason)
        if reason is StopReason.TIMEOUT:
            return await self._end.failed(run, FetchError(FailureReason.TIMEOUT))
        if reason is StopReason.TOO_LARGE:
            return await self._end.failed(run, self._too_large(None))
        return await self._end.stopped(run, reason)

    async def _from_cache(self, run: JobRun, choice: str) -> Outcome | None:
        """Resend a file Telegram already has; None when it is not cached (or no longer valid)."""
        hit = await self._cache.get(run.key, choice)
        if hit is None:
            return None
        job = run.job
        if hit.parts:
            resender = self._albums if choice == FormatChoice.ALL else self._parts
            answered = await resender.resend(run, hit)
            if answered is None:
                log.info("cache_stale id=%d", job.id)
                await self._cache.drop(run.key, choice)
            return answered
        text = caption(run.tr, hit.title or "", hit.size, job.url)
        try:
            await self._deliverer.resend(
                job.chat_id,
                hit.kind,
                hit.file_id,
                text,
                reply_to=job.reply_to,
                thread_id=job.thread_id,
            )
        except StaleFileIdError:
            log.info("cache_stale id=%d", job.id)
            await self._cache.drop(run.key, choice)
            return None
        except UnconfirmedDeliveryError as exc:
            lost = UnconfirmedDeliveryError("cache", exc.detail)
            return await self._end.unconfirmed(run, lost, hit.size, hit.title)
        except asyncio.CancelledError:
            # Stopped while the (small) request was out: it may have landed; never repeated.
            reason = run.control.cancel.reason or StopReason.TIMEOUT
            lost = UnconfirmedDeliveryError("cache", f"stopped: {reason}")
            return await self._end.unconfirmed(run, lost, hit.size, hit.title)
        log.info("cache_hit id=%d choice=%s", job.id, choice)
        ending = Ending(JobState.DONE, LinkOutcome.DELIVERED, size=hit.size, title=hit.title)
        outcome = Delivered((SentFile("cache", 0),), hit.more)
        return await self._end.delivered(run, ending, outcome)

    async def _choose(self, run: JobRun, page: PageInfo) -> FormatChoice | None:
        """The format to fetch (asked, or the default); None when the pipeline answered the
        job otherwise (the chosen format was in the cache)."""
        job = run.job
        choice = job.choice
        if choice is FormatChoice.AUTO:
            choice = FormatChoice.BEST
            seconds = self._cfg.choice_timeout
            if seconds > 0 and page.has_video:
                items = min(page.more + 1, self._cfg.max_items)
                asked = NeedChoice(page.title, page.estimated_size, seconds, items)
                run.events.emit(asked)
                choice = await run.control.wait_choice(seconds) or FormatChoice.BEST
            await self._records.chose(job.id, choice)
            run.events.emit(Chosen(str(choice)))
        elif choice in PRESETS:  # the user's default: the page's other formats stay offered
            run.events.emit(Chosen(str(choice), preset=True))
        run.answered = await self._from_cache(run, str(choice))
        if run.answered is None and choice is FormatChoice.ALL:
            run.playlist = page
            return None
        return None if run.answered is not None else choice
