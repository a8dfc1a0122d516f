"""How one run of a job ended, once it is recorded: what the log, the metrics and the chat get."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Conclusion:
    outcome: str  # delivered, unconfirmed, failed, cancelled, interrupted
    size: int = 0  # bytes uploaded (0 for a resend by file_id)
    text: str | None = None  # the job's last word in the chat; None: the file is the answer
