"""Runs one job from link to delivered file: cache, fetch, probe, deliver, record, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.download.cancel import StoppedError, StopReason
from bot.download.http import HttpFetcher, is_page
from bot.download.types import FetchedFile
from bot.download.urls import normalize_url
from bot.download.ytdlp import PageInfo, YtdlpFetcher
from bot.errors import (
    DeliveryError,
    FailureReason,
    FetchError,
    JobError,
    StaleFileIdError,
    is_disk_full,
)
from bot.i18n import Translator
from bot.jobs.active import ActiveJob
from bot.jobs.models import FormatChoice, JobState
from bot.jobs.texts import cancel_buttons, caption, choice_prompt
from bot.render import failure_text, progress_text
from bot.store.cache import CachedFile, CacheRepo
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome, LinkRepo
from bot.upload.types import Delivered, Delivery, MediaInfo, MediaKind, ProgressFn

log = logging.getLogger(__name__)

FILE_CHOICE = "file"  # cache key for plain files, which have no format choice
PROGRESS_TICK_S = 1.0


class Deliverer(Protocol):
    @property
    def capacity(self) -> int: ...

    async def deliver(self, delivery: Delivery, progress: ProgressFn) -> Delivered: ...

    async def resend(
        self, chat_id: int, kind: MediaKind, file_id: str, caption: str
    ) -> Delivered: ...


Probe = Callable[[Path], Awaitable[MediaInfo]]


@dataclass(frozen=True, slots=True)
class JobReport:
    """How a job ended, for metrics."""

    outcome: str  # delivered, failed, cancelled, interrupted
    seconds: float
    size: int
    route: str


OutcomeHook = Callable[[JobReport], None]


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    data_dir: Path
    job_timeout: float
    choice_timeout: float


class JobRunner:
    """Stateless across jobs: everything about one job lives in its ActiveJob."""

    def __init__(
        self,
        *,
        config: RunnerConfig,
        http: HttpFetcher,
        ytdlp: YtdlpFetcher,
        deliverer: Deliverer,
        probe: Probe,
        jobs: JobRepo,
        links: LinkRepo,
        cache: CacheRepo,
        translator: Callable[[str], Translator],
        on_outcome: OutcomeHook | None = None,
    ) -> None:
        self._cfg = config
        self._http = http
        self._ytdlp = ytdlp
        self._deliverer = deliverer
        self._probe = probe
        self._jobs = jobs
        self._links = links
        self._cache = cache
        self._translator = translator
        self._on_outcome = on_outcome

    def folder_of(self, job_id: int) -> Path:
        return self._cfg.data_dir / "jobs" / str(job_id)

    async def run(self, active: ActiveJob) -> None:
        """The task boundary of a job: every ending is reported, recorded and cleaned up."""
        job = active.job
        tr = self._translator(job.language)
        started = time.monotonic()
        folder = self.folder_of(job.id)
        ticker = asyncio.create_task(self._tick(active, tr))
        try:
            outcome, size, state = await self._attempt(active, tr, folder)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            shutil.rmtree(folder, ignore_errors=True)
        # A restart is not the job's fault: it keeps its attempts for the next start.
        keep = job.attempts if state is JobState.QUEUED else None
        await self._jobs.update(job.id, state=state, attempts=keep)
        seconds = time.monotonic() - started
        if self._on_outcome is not None:  # counted before the log line that says it is over
            self._on_outcome(JobReport(outcome, seconds, size, active.route))
        log.info("job_end id=%d outcome=%s seconds=%.2f bytes=%d", job.id, outcome, seconds, size)

    async def _attempt(
        self, active: ActiveJob, tr: Translator, folder: Path
    ) -> tuple[str, int, JobState]:
        """Runs the pipeline once; returns (outcome, bytes delivered, the job's next state)."""
        job = active.job
        try:
            await self._jobs.update(job.id, state=JobState.RUNNING, bump_attempts=True)
            active.cancel.expire_in(self._cfg.job_timeout)  # the worker thread's own clock
            async with asyncio.timeout(self._cfg.job_timeout):
                size = await self._pipeline(active, tr, folder)
        except (TimeoutError, StoppedError, asyncio.CancelledError) as exc:
            if active.delivered is not None:  # stopped after Telegram took the file
                return "delivered", await _settle(active.delivered), JobState.DONE
            if isinstance(exc, TimeoutError):
                active.cancel.cancel(StopReason.TIMEOUT)  # stops what still runs, and says when
            reason = active.cancel.reason
            if isinstance(exc, StoppedError):
                reason = exc.reason
            if isinstance(exc, TimeoutError):
                reason = StopReason.TIMEOUT
            outcome, state = await self._stopped(active, tr, reason or StopReason.CANCELLED)
            return outcome, 0, state
        except JobError as exc:
            log.info("job_failed id=%d reason=%s detail=%s", job.id, exc.reason, exc.detail)
            await self._fail(active, tr, exc)
        except Exception as exc:
            if is_disk_full(exc):  # a write anywhere: the job's folder, a probe's thumbnail
                await self._fail(active, tr, JobError(FailureReason.DISK_FULL, str(exc)))
            else:
                log.exception("job_crashed id=%d", job.id)
                await self._fail(active, tr, JobError(FailureReason.INTERNAL, type(exc).__name__))
        else:
            return "delivered", size, JobState.DONE
        return "failed", 0, JobState.FAILED

    async def _pipeline(self, active: ActiveJob, tr: Translator, folder: Path) -> int:
        job = active.job
        key = normalize_url(job.url)
        await active.status.show(
            tr("⏳ Working on your link…"), cancel_buttons(tr, active.job.id), force=True
        )
        if (
            active.status.message_id is not None
            and active.status.message_id != job.status_message_id
        ):
            await self._jobs.update(job.id, status_message_id=active.status.message_id)
        choices = [job.choice] if job.choice is not FormatChoice.AUTO else [FILE_CHOICE, "best"]
        for choice in choices:
            if await self._from_cache(active, tr, key, str(choice)):
                return 0
        # A resumed job starts over: whatever a crash left in its folder goes first.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one local mkdir
        try:
            fetched, used = await self._fetch(active, tr, key, folder)
        except FetchError as exc:
            if exc.reason is FailureReason.TOO_LARGE:
                raise self._too_large(exc.params.get("size")) from exc
            raise
        if fetched is None:
            return 0  # answered from the cache after the format choice
        title = fetched.title or fetched.path.name
        info = await self._probe(fetched.path)
        text = caption(tr, title, fetched.size, job.url)
        active.tracker.phase("upload")
        delivered = await self._deliverer.deliver(
            Delivery(job.chat_id, fetched.path, fetched.path.name, text, fetched.size, info),
            active.tracker.update,
        )
        active.route = delivered.route
        entry = CachedFile(delivered.file_id, delivered.kind, title, fetched.size)
        # Shielded: a SIGTERM arriving now must not leave the job to be delivered twice.
        active.delivered = asyncio.ensure_future(self._record(active, key, used, entry))
        return await asyncio.shield(active.delivered)

    async def _record(self, active: ActiveJob, key: str, choice: str, entry: CachedFile) -> int:
        await self._jobs.update(active.id, state=JobState.DONE)
        await self._cache.put(key, choice, entry)
        await self._finish_link(active, LinkOutcome.DELIVERED, size=entry.size, title=entry.title)
        await active.status.remove()
        return entry.size or 0

    async def _fetch(
        self, active: ActiveJob, tr: Translator, key: str, folder: Path
    ) -> tuple[FetchedFile | None, str]:
        """Download by the route the URL's answer calls for; returns the file and cache choice."""
        job, cap = active.job, self._cap
        async with self._http.open(job.url) as response:
            if not is_page(response):
                saved = await self._http.save(
                    response, folder, active.tracker.update, active.cancel, cap
                )
                return saved, FILE_CHOICE
        page = await self._ytdlp.extract(job.url, active.cancel)
        choice = await self._choose(active, tr, page)
        if await self._from_cache(active, tr, key, str(choice)):
            return None, str(choice)
        fetched = await self._ytdlp.download(
            page, choice, folder, active.tracker.update, active.cancel, cap
        )
        return fetched, str(choice)

    @property
    def _cap(self) -> int:
        """The largest file worth fetching: the size limit, or less if Telegram takes less."""
        return min(self._http.max_size, self._deliverer.capacity)

    def _too_large(self, size: object) -> JobError:
        """Too large for the limit, or (said differently, with what to configure) for Telegram."""
        params: dict[str, object] = {"limit": self._cap}
        if isinstance(size, int) and size:
            params["size"] = size
        if self._deliverer.capacity < self._http.max_size:
            return DeliveryError(FailureReason.TOO_LARGE_FOR_TELEGRAM, "", **params)
        return FetchError(FailureReason.TOO_LARGE, "", **params)

    async def _from_cache(self, active: ActiveJob, tr: Translator, key: str, choice: str) -> bool:
        hit = await self._cache.get(key, choice)
        if hit is None:
            return False
        job = active.job
        text = caption(tr, hit.title or "", hit.size, job.url)
        try:
            await self._deliverer.resend(job.chat_id, hit.kind, hit.file_id, text)
        except StaleFileIdError:
            log.info("cache_stale id=%d", job.id)
            await self._cache.drop(key, choice)
            return False
        log.info("cache_hit id=%d choice=%s", job.id, choice)
        active.route = "cache"
        await self._finish_link(active, LinkOutcome.DELIVERED, size=hit.size, title=hit.title)
        await active.status.remove()
        return True

    async def _choose(self, active: ActiveJob, tr: Translator, page: PageInfo) -> FormatChoice:
        job = active.job
        if job.choice is not FormatChoice.AUTO:
            return job.choice
        choice = FormatChoice.BEST
        if self._cfg.choice_timeout > 0 and page.has_video:
            loop = asyncio.get_running_loop()
            active.choice = loop.create_future()
            text, buttons = choice_prompt(tr, job.id, job.url, page, self._cfg.choice_timeout)
            await active.status.show(text, buttons, force=True)
            with contextlib.suppress(TimeoutError):
                choice = await asyncio.wait_for(
                    asyncio.shield(active.choice), self._cfg.choice_timeout
                )
            active.choice = None
        await self._jobs.update(job.id, choice=choice)
        await active.status.show(
            tr("⏳ Preparing the download…"), cancel_buttons(tr, active.job.id), force=True
        )
        return choice

    async def _tick(self, active: ActiveJob, tr: Translator) -> None:
        """Pushes progress into the status message; StatusMessage throttles the edits."""
        buttons = cancel_buttons(tr, active.job.id)
        while True:
            await asyncio.sleep(PROGRESS_TICK_S)
            snapshot = active.tracker.snapshot
            if snapshot is None or active.choice is not None:
                continue
            try:
                await active.status.show(progress_text(tr, snapshot), buttons)
            except Exception:  # task boundary: a progress edit must never end the job
                log.exception("progress_edit_failed id=%d", active.id)

    async def _stopped(
        self, active: ActiveJob, tr: Translator, reason: StopReason
    ) -> tuple[str, JobState]:
        job = active.job
        log.info("job_stopped id=%d reason=%s", job.id, reason)
        if reason is StopReason.SHUTDOWN:
            await active.status.final(
                tr("⏸ The bot is restarting. Your download will continue when it is back.")
            )
            return "interrupted", JobState.QUEUED
        if reason is StopReason.TIMEOUT:
            await self._fail(active, tr, FetchError(FailureReason.TIMEOUT))
            return "failed", JobState.FAILED
        if reason is StopReason.TOO_LARGE:
            await self._fail(active, tr, self._too_large(None))
            return "failed", JobState.FAILED
        await active.status.final(tr("✖️ Cancelled."))
        await self._finish_link(active, LinkOutcome.CANCELLED)
        return "cancelled", JobState.CANCELLED

    async def _fail(self, active: ActiveJob, tr: Translator, error: JobError) -> None:
        if error.reason is FailureReason.DISK_FULL:  # the operator's problem, not the user's
            free = shutil.disk_usage(self._cfg.data_dir).free // (1024 * 1024)
            log.error(
                "disk_full id=%d data_dir=%s free_mb=%d detail=%s",
                active.id,
                self._cfg.data_dir,
                free,
                error.detail,
            )
        await active.status.final(failure_text(tr, error))
        await self._finish_link(active, LinkOutcome.FAILED, reason=error.reason.value)

    async def _finish_link(
        self,
        active: ActiveJob,
        outcome: LinkOutcome,
        *,
        reason: str | None = None,
        size: int | None = None,
        title: str | None = None,
    ) -> None:
        if active.job.link_id is not None:
            await self._links.finish(
                active.job.link_id, outcome, reason=reason, size=size, title=title
            )


async def _settle(recording: asyncio.Future[int]) -> int:
    """Waits for the bookkeeping of a delivered file; its failure is logged, not raised."""
    try:
        return await recording
    except Exception:
        log.exception("delivery_record_failed")
        return 0
