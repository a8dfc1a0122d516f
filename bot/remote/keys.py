"""The names tgfetch keeps in Redis, besides SAQ's own (`saq:tgfetch:*`)."""

from __future__ import annotations

QUEUE = "tgfetch"  # the SAQ queue
FUNCTION = "run_job"  # the one function workers run
# Workers' reports that must reach the front (starts, questions, outcomes): the front reads
# them from a position it keeps in SQLite, and trims what it has recorded.
EVENTS = "tgfetch:events"
# Transfer progress: lossy by design, capped; a front that was away does not replay it.
PROGRESS = "tgfetch:progress"


def ledger(job_id: int) -> str:
    """A job's memory across attempts: delivered parts, the user's choice, its outcome sent."""
    return f"tgfetch:ledger:{job_id}"


def claim(job_id: int, part: int) -> str:
    """The lease of the attempt that sends one part (no two attempts send the same part)."""
    return f"tgfetch:claim:{job_id}:{part}"


def choice(job_id: int) -> str:
    """The user's format pick, pushed by the front to the worker that asked."""
    return f"tgfetch:choice:{job_id}"
