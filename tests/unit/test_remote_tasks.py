"""A process's background tasks stop at its stop even when a cancel is lost on the way (as one
was, in redis-py's blocking read): the stop cancels again, and names what would not stop."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.remote.tasks import stop_tasks


async def loses_first_cancel(started: asyncio.Event) -> None:
    """Reads on after its first cancel, as the front's report reader did."""
    started.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()
    await asyncio.Event().wait()  # ended only by a second cancel


async def test_a_task_that_lost_its_cancel_is_cancelled_again_and_stops() -> None:
    started = asyncio.Event()
    task = asyncio.create_task(loses_first_cancel(started), name="reader")
    await started.wait()
    await stop_tasks([task], seconds=30)
    assert task.cancelled()


async def test_a_task_that_will_not_stop_is_named_and_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    let_go = asyncio.Event()

    async def stubborn() -> None:
        while not let_go.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await let_go.wait()

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    await stop_tasks([task], seconds=0.3)
    assert not task.done()
    assert "tasks_not_stopped names=stubborn" in caplog.text
    let_go.set()
    await task
