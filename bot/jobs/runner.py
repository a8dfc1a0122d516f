"""Runs one job from link to delivered file: cache, fetch, probe, deliver, record, clean up.

How each run ends (recorded first, then told) is endings.py's business.
"""

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
from bot.i18n import Translator
from bot.jobs.active import ActiveJob
from bot.jobs.conclusion import Conclusion
from bot.jobs.endings import FINAL_RETRY_DELAYS_S, STOPPING_MESSAGE_S, JobEndings, settle
from bot.jobs.texts import cancel_buttons, caption, choice_prompt
from bot.model.failures import (
    DeliveryError,
    FailureReason,
    FetchError,
    JobError,
    StaleFileIdError,
    UnconfirmedDeliveryError,
    is_disk_full,
)
from bot.model.job import FormatChoice, JobState
from bot.model.media import MediaInfo, MediaKind
from bot.render import progress_text
from bot.store.cache import CachedFile, CacheRepo
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome
from bot.store.outcomes import Cached, Ending, OutcomeRepo
from bot.upload.types import Delivered, Delivery, ProgressFn

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

    outcome: str  # delivered, unconfirmed, failed, cancelled, interrupted
    seconds: float
    size: int
    route: str


OutcomeHook = Callable[[JobReport], None]


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    data_dir: Path
    job_timeout: float
    choice_timeout: float
    final_retry_delays: tuple[float, ...] = FINAL_RETRY_DELAYS_S  # see endings.py
    stopping_message_s: float = STOPPING_MESSAGE_S


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
        outcomes: OutcomeRepo,
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
        self._end = JobEndings(outcomes, config.final_retry_delays, config.stopping_message_s)
        self._cache = cache
        self._translator = translator
        self._on_outcome = on_outcome

    def folder_of(self, job_id: int) -> Path:
        return self._cfg.data_dir / "jobs" / str(job_id)

    async def run(self, active: ActiveJob) -> None:
        """The task boundary of a job: every ending is recorded, reported and cleaned up."""
        job = active.job
        tr = self._translator(job.language)
        started = time.monotonic()
        folder = self.folder_of(job.id)
        ticker = asyncio.create_task(self._tick(active, tr))
        try:
            end = await self._attempt(active, tr, folder)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            shutil.rmtree(folder, ignore_errors=True)
        try:
            await self._end.tell(active, end)
        finally:
            seconds = time.monotonic() - started
            if self._on_outcome is not None:  # counted before the log line that says it is over
                self._on_outcome(JobReport(end.outcome, seconds, end.size, active.route))
            log.info(
                "job_end id=%d outcome=%s seconds=%.2f bytes=%d",
                job.id,
                end.outcome,
                seconds,
                end.size,
            )

    async def _attempt(self, active: ActiveJob, tr: Translator, folder: Path) -> Conclusion:
        """Runs the pipeline once; returns how it ended, already recorded."""
        job = active.job
        try:
            await self._jobs.update(job.id, state=JobState.RUNNING, bump_attempts=True)
            active.cancel.expire_in(self._cfg.job_timeout)  # the worker thread's own clock
            async with asyncio.timeout(self._cfg.job_timeout):
                return await self._pipeline(active, tr, folder)
        except (TimeoutError, StoppedError, asyncio.CancelledError) as exc:
            if active.delivered is not None:  # stopped after Telegram took the file
                return await settle(active.delivered)
            if isinstance(exc, TimeoutError):
                active.cancel.cancel(StopReason.TIMEOUT)  # stops what still runs, and says when
            reason = active.cancel.reason
            if isinstance(exc, StoppedError):
                reason = exc.reason
            if isinstance(exc, TimeoutError):
                reason = StopReason.TIMEOUT
            return await self._stopped(active, tr, reason or StopReason.CANCELLED)
        except JobError as exc:
            log.info("job_failed id=%d reason=%s detail=%s", job.id, exc.reason, exc.detail)
            return await self._failed(active, tr, exc)
        except Exception as exc:
            if active.delivered is not None:  # the file went out; only its bookkeeping failed
                return await settle(active.delivered)
            if is_disk_full(exc):  # a write anywhere: the job's folder, a probe's thumbnail
                return await self._failed(active, tr, JobError(FailureReason.DISK_FULL, str(exc)))
            log.exception("job_crashed id=%d", job.id)
            return await self._failed(
                active, tr, JobError(FailureReason.INTERNAL, type(exc).__name__)
            )

    async def _pipeline(self, active: ActiveJob, tr: Translator, folder: Path) -> Conclusion:
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
            if (cached := await self._from_cache(active, tr, key, str(choice))) is not None:
                return cached
        # A resumed job starts over: whatever a crash left in its folder goes first.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one local mkdir
        try:
            fetched = await self._fetch(active, tr, key, folder)
        except FetchError as exc:
            if exc.reason is FailureReason.TOO_LARGE:
                raise self._too_large(exc.params.get("size")) from exc
            raise
        if isinstance(fetched, Conclusion):
            return fetched  # answered from the cache after the format choice
        file, used = fetched
        title = file.title or file.path.name
        info = await self._probe(file.path)
        text = caption(tr, title, file.size, job.url)
        active.tracker.phase("upload")
        try:
            delivered = await self._deliverer.deliver(
                Delivery(job.chat_id, file.path, file.path.name, text, file.size, info),
                active.tracker.update,
            )
        except UnconfirmedDeliveryError as exc:
            active.route = exc.route
            return await self._end.unconfirmed(active, tr, exc, file.size, title)
        except asyncio.CancelledError:
            if not _handed_over(active):
                raise  # Telegram cannot have the file: the stop goes on as usual
            # Stopped (a restart, Cancel, the job timeout) while Telegram held the answer: the
            # file may be in the chat, so the job must not run again after a restart.
            reason = active.cancel.reason or StopReason.TIMEOUT
            lost = UnconfirmedDeliveryError(active.route or "upload", f"stopped: {reason}")
            return await self._end.unconfirmed(active, tr, lost, file.size, title)
        active.route = delivered.route
        entry = CachedFile(delivered.file_id, delivered.kind, title, file.size)
        ending = Ending(
            JobState.DONE,
            LinkOutcome.DELIVERED,
            size=file.size,
            title=title,
            cached=Cached(key, used, entry),
        )
        return await self._end.delivered(active, ending, Conclusion("delivered", file.size))

    async def _fetch(
        self, active: ActiveJob, tr: Translator, key: str, folder: Path
    ) -> tuple[FetchedFile, str] | Conclusion:
        """Download by the route the URL's answer calls for; returns the file and cache choice,
        or how the job ended when the chosen format was in the cache."""
        job, cap = active.job, self._cap
        async with self._http.open(job.url) as response:
            if not is_page(response):
                saved = await self._http.save(
                    response, folder, active.tracker.update, active.cancel, cap
                )
                return saved, FILE_CHOICE
        page = await self._ytdlp.extract(job.url, active.cancel)
        choice = await self._choose(active, tr, page)
        if (cached := await self._from_cache(active, tr, key, str(choice))) is not None:
            return cached
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

    async def _from_cache(
        self, active: ActiveJob, tr: Translator, key: str, choice: str
    ) -> Conclusion | None:
        """Resend a file Telegram already has; None when it is not cached (or no longer valid)."""
        hit = await self._cache.get(key, choice)
        if hit is None:
            return None
        job = active.job
        text = caption(tr, hit.title or "", hit.size, job.url)
        try:
            await self._deliverer.resend(job.chat_id, hit.kind, hit.file_id, text)
        except StaleFileIdError:
            log.info("cache_stale id=%d", job.id)
            await self._cache.drop(key, choice)
            return None
        except UnconfirmedDeliveryError as exc:
            active.route = "cache"
            return await self._end.unconfirmed(active, tr, exc, hit.size, hit.title)
        except asyncio.CancelledError:
            # Stopped while the (small) request was out: it may have landed; never repeated.
            active.route = "cache"
            reason = active.cancel.reason or StopReason.TIMEOUT
            lost = UnconfirmedDeliveryError("cache", f"stopped: {reason}")
            return await self._end.unconfirmed(active, tr, lost, hit.size, hit.title)
        log.info("cache_hit id=%d choice=%s", job.id, choice)
        active.route = "cache"
        ending = Ending(JobState.DONE, LinkOutcome.DELIVERED, size=hit.size, title=hit.title)
        return await self._end.delivered(active, ending, Conclusion("delivered"))

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

    async def _stopped(self, active: ActiveJob, tr: Translator, reason: StopReason) -> Conclusion:
        log.info("job_stopped id=%d reason=%s", active.id, reason)
        if reason is StopReason.TIMEOUT:
            return await self._failed(active, tr, FetchError(FailureReason.TIMEOUT))
        if reason is StopReason.TOO_LARGE:
            return await self._failed(active, tr, self._too_large(None))
        return await self._end.stopped(active, tr, reason)

    async def _failed(self, active: ActiveJob, tr: Translator, error: JobError) -> Conclusion:
        if error.reason is FailureReason.DISK_FULL:  # the operator's problem, not the user's
            free = shutil.disk_usage(self._cfg.data_dir).free // (1024 * 1024)
            log.error(
                "disk_full id=%d data_dir=%s free_mb=%d detail=%s",
                active.id,
                self._cfg.data_dir,
                free,
                error.detail,
            )
        return await self._end.failed(active, tr, error)


def _handed_over(active: ActiveJob) -> bool:
    """Whether the whole file went to the connection: from then on Telegram may have it."""
    progress = active.tracker.snapshot
    return (
        progress is not None
        and progress.phase == "upload"
        and bool(progress.total)
        and progress.done >= (progress.total or 0)
    )
