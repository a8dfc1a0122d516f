"""Stopping a process's own background tasks (the front's and a worker's) for sure."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

CANCEL_AGAIN_S = 0.25  # a task not ended this long after its cancel is cancelled again


async def stop_tasks(tasks: list[asyncio.Task[None]], seconds: float) -> None:
    """Cancel `tasks` and wait up to `seconds` for them, cancelling again any that goes on.

    One cancel is not always enough: one stop in two or three, the cancel of the report reader
    blocked in redis-py's XREAD was lost and the reader read on until the process was killed
    (the front then took the 15 s of a test's stop, or systemd's TimeoutStopSec).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pending = {task for task in tasks if not task.done()}
    cancels = 0
    while pending:
        for task in pending:
            task.cancel()
        cancels += 1
        left = deadline - loop.time()
        if left <= 0:
            names = ",".join(sorted(task.get_name() for task in pending))
            log.warning("tasks_not_stopped names=%s cancels=%d", names, cancels)
            return
        _, pending = await asyncio.wait(pending, timeout=min(CANCEL_AGAIN_S, left))
    if cancels > 1:
        log.info("tasks_stopped cancels=%d", cancels)


def log_crash(task: asyncio.Task[None]) -> None:
    """A done callback for the front's own tasks: one that failed is logged, traceback too."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("front_task_failed task=%s error=%r", task.get_name(), exc, exc_info=exc)
