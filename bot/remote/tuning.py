"""The queue's timings in one place: SAQ's job settings and timers, and what is derived from
them (docs/SCALING.md says why each is what it is)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saq.types import TimersDict

from bot.config.settings import Settings

DAY_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class Tuning:
    # A running job not touched for this long counts as stuck (its worker died, or is cut off).
    heartbeat: int
    # How often some worker looks for stuck jobs (and the lock that lets one of them do it).
    sweep: int
    retries: int = 3  # attempts in all: a job whose workers died three times is given up
    # How long a job's ledger and its finished record (its result) are kept: a front away for
    # less than this still reads every result, and a job run again sends nothing twice.
    ttl: int = 7 * DAY_S
    abort_timer: int = 1  # how often a worker reads whether its jobs were cancelled
    events_maxlen: int = 2000  # the lossy stream of progress and questions
    cancel_give_up_s: float = 10.0  # a cancel no worker answers is recorded by the front

    @classmethod
    def from_settings(cls, settings: Settings) -> Tuning:
        return cls(heartbeat=settings.queue_heartbeat_seconds, sweep=settings.queue_sweep_seconds)

    @property
    def claim_lease_s(self) -> float:
        """A part's send lease: twice the heartbeat (60 s by default), so that a job swept from
        a worker cut off finds its lease lapsed about when it runs again."""
        return 2.0 * self.heartbeat

    @property
    def call_deadline_s(self) -> float:
        """Every Redis call a worker makes for a job answers within this, or counts as failed:
        well inside the lease, so a worker cut off stops before its lease lapses."""
        return min(10.0, self.claim_lease_s / 4)

    @property
    def beat_every(self) -> float:
        """How often a running job touches its record: six beats per heartbeat window."""
        return max(0.3, self.heartbeat / 6)

    @property
    def dequeue_wait(self) -> float:
        """How long a free slot's wait for a job stays with Redis: a worker cut off stops
        taking jobs (whose answers it would not get) this soon, well before a sweep."""
        return min(5.0, self.heartbeat / 2)

    @property
    def sweep_wait(self) -> float:
        """How long a sweep waits for the worker of a stuck job to confirm it stopped (SAQ's
        5 s, or less when sweeps are more frequent)."""
        return float(min(5, self.sweep))

    def job_settings(self) -> dict[str, Any]:
        """SAQ's per-job settings: no timeout (the pipeline has its own), our heartbeat."""
        return {
            "timeout": 0,
            "heartbeat": self.heartbeat,
            "retries": self.retries,
            "ttl": self.ttl,
        }

    def timers(self) -> TimersDict:
        # Every key: SAQ's PartialTimersDict does not make the inherited keys optional.
        return {"schedule": 1, "worker_info": 10, "sweep": self.sweep, "abort": self.abort_timer}
