"""A job while it is in memory: its stop signal, status message, progress and choice."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.download.cancel import CancelToken
from bot.jobs.conclusion import Conclusion
from bot.jobs.progress import ProgressTracker
from bot.jobs.status import StatusMessage
from bot.model.job import FormatChoice, Job


@dataclass(eq=False)
class ActiveJob:
    """Mutable on purpose: owned by the JobManager, shared with the runner of this one job."""

    job: Job
    status: StatusMessage
    resumed: bool = False
    cancel: CancelToken = field(default_factory=CancelToken)
    tracker: ProgressTracker = field(default_factory=ProgressTracker)
    choice: asyncio.Future[FormatChoice] | None = None
    task: asyncio.Task[None] | None = None
    # Set the moment Telegram has the file (or may have it): from then on a stop must not undo
    # the delivery; it resolves once the delivery is recorded.
    delivered: asyncio.Future[Conclusion] | None = None
    route: str = ""  # how the file reached the chat: "botapi", "mtproto" or "cache"

    @property
    def id(self) -> int:
        return self.job.id
