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
    # A running job not touched for this long counts as stuck (its worker died).
    heartbeat: int
    # How often some worker looks for stuck jobs (and the lock that lets one of them do it).
    sweep: int
    retries: int = 3  # attempts in all: a job whose workers died three times is given up
    ttl: int = DAY_S  # how long SAQ keeps a finished job's record
    abort_timer: int = 1  # how often a worker reads whether its jobs were cancelled
    claim_lease_s: float = 60.0  # a part's send lease, renewed while the part goes out
    ledger_ttl: int = 7 * DAY_S
    progress_maxlen: int = 2000
    cancel_repeat_s: float = 1.0  # the front repeats a cancel this often until it is heard
    cancel_give_up_s: float = 10.0  # ... and records it itself this long after it landed

    @classmethod
    def from_settings(cls, settings: Settings) -> Tuning:
        return cls(heartbeat=settings.queue_heartbeat_seconds, sweep=settings.queue_sweep_seconds)

    @property
    def beat_every(self) -> float:
        """How often a running job touches its record: six beats per heartbeat window."""
        return max(0.3, self.heartbeat / 6)

    @property
    def sweep_wait(self) -> float:
        """How long a sweep waits for the worker of a stuck job to confirm it stopped (SAQ's
        5 s, or less when sweeps are more frequent)."""
        return float(min(5, self.sweep))

    @property
    def reconcile_s(self) -> float:
        """How often the front compares its unfinished jobs with the queue."""
        return float(max(5, min(30, self.heartbeat)))

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
