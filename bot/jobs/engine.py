"""What the rest of the bot asks of the job engine, and what the engine asks of a presenter.

The engine in this process is JobManager (manager.py). One that runs the pipeline on workers
elsewhere keeps the same face: the handlers submit, cancel and choose; the daemon resumes and
shuts down; each job's events and last word go to the JobObserver the engine made for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.jobs.events import JobEvent
from bot.jobs.outcomes import Outcome
from bot.model.job import DEFAULT_PREFS, FormatChoice, Job, JobPrefs


class Admission(StrEnum):
    ACCEPTED = "accepted"
    USER_LIMIT = "user_limit"
    QUEUE_FULL = "queue_full"
    STOPPING = "stopping"
    UNAVAILABLE = "unavailable"  # the job queue cannot be reached (QUEUE_URL): try later


@dataclass(frozen=True, slots=True)
class SubmitResult:
    admission: Admission
    job_id: int | None = None
    position: int = 0  # 0: started at once; n: n-th in the queue


@dataclass(frozen=True, slots=True)
class JobReport:
    """How a job ended, for the metrics."""

    outcome: Outcome
    seconds: float
    url: str = ""  # the link (its host names the site in the admins' alerts)


class JobObserver(Protocol):
    """Shows one job (the presenter): its events as they come, then its last word."""

    def emit(self, event: JobEvent) -> None: ...

    async def finish(
        self, outcome: Outcome, *, stopping: bool = False, retry: bool = True
    ) -> None:
        """The job's last word; `stopping`: one short try, `retry` False: one try."""
        ...

    async def close(self) -> None:
        """No last word (the daemon stops while the job waits): stop showing."""
        ...


# Makes the observer of a job; `reply_to` is the user's message with the link, if known.
ObserverFactory = Callable[[Job, int | None], JobObserver]


class Engine(Protocol):
    @property
    def running(self) -> int: ...

    @property
    def queued(self) -> int: ...

    async def submit(
        self,
        *,
        user_id: int,
        chat_id: int,
        url: str,
        language: str,
        reply_to: int | None,
        choice: FormatChoice = FormatChoice.AUTO,
        thread_id: int | None = None,
        prefs: JobPrefs = DEFAULT_PREFS,
    ) -> SubmitResult:
        """Admit a job for `url`; `choice` PDF: the page printed (/pdf), else a download.
        `thread_id`: the forum topic its files go to; `prefs`: how its user wants them."""
        ...

    async def cancel(
        self, job_id: int, user_id: int, *, admin: bool = False, replaced: bool = False
    ) -> bool:
        """Stop a job of this user (any job, for an admin: a bot's admin, or a group's admin
        for a job in their group, as handlers/rights.py decides); False if there is none.
        `replaced`: another job takes the link over (its status message goes quietly)."""
        ...

    async def cancel_user(self, user_id: int) -> int:
        """Stop every job of this user; returns how many."""
        ...

    async def choose(self, job_id: int, user_id: int, choice: FormatChoice) -> bool:
        """The user's format for a job that asks; False when it does not (any more)."""
        ...

    async def resume(self) -> int:
        """Take up what the last run left; returns how many jobs wait again."""
        ...

    async def shutdown(self, grace: float) -> None:
        """Take no more work, stop running jobs (they resume on the next start)."""
        ...
