"""The names tgfetch keeps in Redis, besides SAQ's own (`saq:tgfetch:*`)."""

from __future__ import annotations

QUEUE = "tgfetch"  # the SAQ queue
FUNCTION = "run_job"  # the one function workers run
# Progress and questions from the workers to the front: lossy by design, capped (events.py).
EVENTS = "tgfetch:events"


def ledger(job_id: int) -> str:
    """A job's memory across attempts: delivered parts, parts gone out, the user's choice."""
    return f"tgfetch:ledger:{job_id}"


def claim(job_id: int, part: int) -> str:
    """The lease of the attempt that sends one part (no two attempts send the same part)."""
    return f"tgfetch:claim:{job_id}:{part}"


def choice(job_id: int) -> str:
    """The user's format pick, pushed by the front to the worker that asked."""
    return f"tgfetch:choice:{job_id}"
