"""What GET /health says: the daemon's or a worker's figures, and whether it is healthy
(polling stalled, or a worker's queue unreachable, is not). The server is health_server.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class HealthReport(Protocol):
    """What /health answers: a JSON body, 200 when healthy and 503 when not."""

    @property
    def healthy(self) -> bool: ...

    def body(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """What /health reports of the polling daemon, taken fresh for every request."""

    version: str
    uptime_s: float
    seconds_since_poll: float
    jobs_running: int
    jobs_queued: int
    mtproto: str
    # Why polling is considered dead (PollMonitor.problem()), or None while it is healthy.
    problem: str | None = None
    # With QUEUE_URL: whether Redis answers ("ok", "unreachable"); None: no queue.
    queue: str | None = None

    @property
    def stalled(self) -> bool:
        return self.problem is not None

    @property
    def healthy(self) -> bool:
        return not self.stalled

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "stalled" if self.stalled else "ok",
            "version": self.version,
            "uptime_s": round(self.uptime_s, 1),
            "seconds_since_poll": round(self.seconds_since_poll, 1),
            "jobs_running": self.jobs_running,
            "jobs_queued": self.jobs_queued,
            "mtproto": self.mtproto,
            "problem": self.problem,
        }
        if self.queue is not None:
            body["queue"] = self.queue
        return body


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    """What /health reports of a download worker (`main.py worker`): unhealthy (503) while
    Redis does not answer, since it can take no work then."""

    worker: str
    version: str
    uptime_s: float
    jobs_running: int
    slots: int
    mtproto: str
    queue: str  # "ok" or "unreachable"

    @property
    def healthy(self) -> bool:
        return self.queue == "ok"

    def body(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "queue_unreachable",
            "role": "worker",
            "worker": self.worker,
            "version": self.version,
            "uptime_s": round(self.uptime_s, 1),
            "jobs_running": self.jobs_running,
            "slots": self.slots,
            "mtproto": self.mtproto,
            "queue": self.queue,
        }
