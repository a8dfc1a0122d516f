"""The job manager: a bounded queue, per-user limits, real cancellation, resume after restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.download.cancel import StopReason
from bot.i18n import Translator
from bot.jobs.active import ActiveJob
from bot.jobs.runner import JobRunner
from bot.jobs.status import StatusMessage
from bot.jobs.ui import ChatUI
from bot.model.failures import FailureReason, JobError
from bot.model.job import FormatChoice, Job, JobState
from bot.render import failure_text, number
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome, LinkRepo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class Admission(StrEnum):
    ACCEPTED = "accepted"
    USER_LIMIT = "user_limit"
    QUEUE_FULL = "queue_full"
    STOPPING = "stopping"


@dataclass(frozen=True, slots=True)
class SubmitResult:
    admission: Admission
    job_id: int | None = None
    position: int = 0  # 0: started at once; n: n-th in the queue


@dataclass(frozen=True, slots=True)
class Limits:
    workers: int
    per_user: int
    max_queued: int


class JobManager:
    """Owns every job task: starts at most `workers` at once, cancels them, resumes them."""

    def __init__(
        self,
        *,
        limits: Limits,
        repo: JobRepo,
        links: LinkRepo,
        runner: JobRunner,
        ui: ChatUI,
        translator: Callable[[str], Translator],
    ) -> None:
        self._limits = limits
        self._repo = repo
        self._links = links
        self._runner = runner
        self._ui = ui
        self._translator = translator
        self._waiting: deque[ActiveJob] = deque()
        self._running: dict[int, ActiveJob] = {}
        self._per_user: Counter[int] = Counter()
        # Bumped by cancel_user, so a submission still being written when /cancel came is
        # cancelled too instead of starting afterwards.
        self._cancel_epoch: Counter[int] = Counter()
        self._stopping = False
        # True once resume() has dealt with the last run's jobs: only then may a clean stop
        # clear the crash marker (a stop during start-up must leave a crash's marker set).
        self._session = False
        self._idle = asyncio.Event()
        self._refreshing = asyncio.Lock()
        self._idle.set()

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return len(self._waiting)

    async def submit(
        self, *, user_id: int, chat_id: int, url: str, language: str, reply_to: int | None
    ) -> SubmitResult:
        if self._stopping:
            return SubmitResult(Admission.STOPPING)
        if self._per_user[user_id] >= self._limits.per_user:
            return SubmitResult(Admission.USER_LIMIT)
        if len(self._waiting) >= self._limits.max_queued:
            return SubmitResult(Admission.QUEUE_FULL)
        self._per_user[user_id] += 1  # reserved before any await, so bursts cannot overrun
        epoch = self._cancel_epoch[user_id]
        try:
            link_id = await self._links.add(user_id, url)
            job = await self._repo.create(
                user_id=user_id, chat_id=chat_id, url=url, language=language, link_id=link_id
            )
        except BaseException:
            self._release(user_id)
            raise
        active = ActiveJob(job, StatusMessage(self._ui, chat_id, None, reply_to=reply_to))
        if self._cancel_epoch[user_id] != epoch:
            self._release(user_id)
            await self._cancel_waiting(active)
            return SubmitResult(Admission.ACCEPTED, job.id, 0)
        self._waiting.append(active)
        position = len(self._waiting) if len(self._running) >= self._limits.workers else 0
        log.info("job_submitted id=%d user=%d position=%d", job.id, user_id, position)
        if position:
            await self._show_position(active, position)
        self._pump()
        return SubmitResult(Admission.ACCEPTED, job.id, position)

    async def resume(self) -> int:
        """Queue again every job a restart left unfinished; returns how many.

        After a crash (the last run did not end with `shutdown`), a job that was running is
        suspected of having caused it (a bomb, say) and is given up, not run again: one link
        must not crash-loop the daemon. Jobs that were only waiting are resumed.
        """
        crashed = await self._repo.begin_session()
        resumed = 0
        for job in await self._repo.unfinished():
            tr = self._translator(job.language)
            status = StatusMessage(self._ui, job.chat_id, job.status_message_id)
            if crashed and job.state is JobState.RUNNING:
                await self._give_up_crashed(job, status, tr)
                continue
            if job.attempts >= MAX_ATTEMPTS:
                log.warning("job_given_up id=%d attempts=%d", job.id, job.attempts)
                await self._repo.update(job.id, state=JobState.FAILED)
                if job.link_id is not None:
                    await self._links.finish(job.link_id, LinkOutcome.FAILED, reason="interrupted")
                await status.final(
                    tr("❌ The download was interrupted too many times and was given up.")
                )
                continue
            active = ActiveJob(job, status, resumed=True)
            self._per_user[job.user_id] += 1
            self._waiting.append(active)
            await status.final(tr("🔄 The bot restarted. Resuming your download…"))
            await self._remember_status(active)
            resumed += 1
        self._session = True
        log.info("jobs_resumed count=%d", resumed)
        self._pump()
        return resumed

    async def _give_up_crashed(self, job: Job, status: StatusMessage, tr: Translator) -> None:
        log.warning("job_given_up id=%d reason=crashed url_length=%d", job.id, len(job.url))
        await self._repo.update(job.id, state=JobState.FAILED)
        if job.link_id is not None:
            await self._links.finish(
                job.link_id, LinkOutcome.FAILED, reason=FailureReason.CRASHED.value
            )
        # Whatever the crash left half-written goes too.
        shutil.rmtree(self._runner.folder_of(job.id), ignore_errors=True)
        await status.final(failure_text(tr, JobError(FailureReason.CRASHED)))

    async def cancel(self, job_id: int, user_id: int, *, admin: bool = False) -> bool:
        """Stop a job of this user (or any job, for an admin); False if there is none."""
        for active in self._waiting:
            if active.id == job_id and (admin or active.job.user_id == user_id):
                self._waiting.remove(active)
                self._release(active.job.user_id)
                await self._cancel_waiting(active)
                await self._refresh_positions()
                return True
        active_run = self._running.get(job_id)
        if active_run is None or not (admin or active_run.job.user_id == user_id):
            return False
        self._stop(active_run, StopReason.CANCELLED)
        return True

    async def cancel_user(self, user_id: int) -> int:
        self._cancel_epoch[user_id] += 1
        ids = [a.id for a in (*self._waiting, *self._running.values()) if a.job.user_id == user_id]
        return sum([await self.cancel(job_id, user_id) for job_id in ids])

    def choose(self, job_id: int, user_id: int, choice: FormatChoice) -> bool:
        active = self._running.get(job_id)
        if active is None or active.job.user_id != user_id or active.choice is None:
            return False
        if not active.choice.done():
            active.choice.set_result(choice)
        return True

    async def shutdown(self, grace: float) -> None:
        """Stop taking work, stop running jobs (they resume on the next start), wait `grace`."""
        self._stopping = True
        for active in list(self._running.values()):
            self._stop(active, StopReason.SHUTDOWN)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        if self._running:
            # Not recorded as stopped: the next start treats them as running at a crash.
            log.warning("jobs_still_running count=%d after=%.1fs", len(self._running), grace)
        elif self._session:
            await self._repo.end_session()

    def _stop(self, active: ActiveJob, reason: StopReason) -> None:
        active.cancel.cancel(reason)
        if active.task is not None:
            active.task.cancel()

    def _pump(self) -> None:
        while not self._stopping and self._waiting and len(self._running) < self._limits.workers:
            active = self._waiting.popleft()
            self._running[active.id] = active
            self._idle.clear()
            active.task = asyncio.create_task(self._execute(active), name=f"job-{active.id}")

    async def _execute(self, active: ActiveJob) -> None:
        try:
            await self._runner.run(active)
            await self._remember_status(active)
        except asyncio.CancelledError:
            log.info("job_task_cancelled id=%d", active.id)
        except Exception:  # task boundary: one job's bug must not take the manager down
            log.exception("job_task_failed id=%d", active.id)
        finally:
            self._running.pop(active.id, None)
            self._release(active.job.user_id)
            stopped = active.cancel.stopped_at
            if stopped is not None:  # how long a stopped job held its worker
                log.info("job_freed id=%d after_stop=%.2f", active.id, time.monotonic() - stopped)
            if not self._running:
                self._idle.set()
            self._pump()
            if not self._stopping:
                await self._refresh_positions()

    def _release(self, user_id: int) -> None:
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]

    async def _cancel_waiting(self, active: ActiveJob) -> None:
        tr = self._translator(active.job.language)
        await self._repo.update(active.id, state=JobState.CANCELLED)
        if active.job.link_id is not None:
            await self._links.finish(active.job.link_id, LinkOutcome.CANCELLED)
        await active.status.final(tr("✖️ Cancelled."))

    async def _show_position(self, active: ActiveJob, position: int) -> None:
        tr = self._translator(active.job.language)
        await active.status.show(
            tr("🕒 In the queue: position {position}.", position=number(tr, position, 0)),
            [[(tr("✖️ Cancel"), f"cancel:{active.id}")]],
            force=True,
            # By the time the edit goes out the job may have started or been cancelled: its
            # "Working…" or "Cancelled" must not be overwritten by a stale position.
            still_wanted=lambda: active.task is None and active in self._waiting,
        )
        await self._remember_status(active)

    async def _refresh_positions(self) -> None:
        async with self._refreshing:  # one pass at a time, each with fresh positions
            for active in list(self._waiting):
                if active in self._waiting:
                    await self._show_position(active, self._waiting.index(active) + 1)

    async def _remember_status(self, active: ActiveJob) -> None:
        if active.status.message_id is not None:
            await self._repo.update(active.id, status_message_id=active.status.message_id)
