"""SAQ's writes to a job's record, fenced (bot/remote/queue.py), against a real redis-server: an
attempt's late writes never land over another attempt or a result, and a sweep that catches a
worker between the two steps of its take leaves the job alone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from saq.job import Job, Status

from bot.remote.queue import WorkQueue
from bot.remote.redis_client import quick_client
from bot.remote.tuning import Tuning
from tests.redis_server import RedisServer

TUNING = Tuning(heartbeat=2, sweep=1)


@pytest.fixture
async def queue(redis: RedisServer) -> AsyncIterator[WorkQueue]:
    jobs = WorkQueue(quick_client(SecretStr(redis.url)), TUNING)
    await jobs.connect()
    try:
        yield jobs
    finally:
        await jobs.disconnect()


async def take(queue: WorkQueue, worker: str) -> Job:
    """What SAQ's worker does to take the next job: dequeue it, then mark it active."""
    job = await queue.dequeue(timeout=1)
    assert job is not None
    job.attempts += 1
    job.worker_id = worker
    await job.update(status=Status.ACTIVE)
    return job


async def stored(queue: WorkQueue, key: str = "1") -> Job:
    job = await queue.job(key)
    assert job is not None
    return job


async def enqueue(queue: WorkQueue) -> None:
    await queue.enqueue("run_job", key="1", spec={}, **TUNING.job_settings())


async def test_a_result_is_stored_with_its_status_once(queue: WorkQueue) -> None:
    await enqueue(queue)
    job = await take(queue, "w1")
    assert await queue.beat(job) == "ok"
    assert await queue.write_finish(job, {"outcome": "delivered"}) == "ok"
    await job.finish(Status.COMPLETE, result={"outcome": "other"})  # SAQ's own, refused
    record = await stored(queue)
    assert (record.status, record.result) == (Status.COMPLETE, {"outcome": "delivered"})
    assert 0 < await queue.redis.ttl(job.id) <= TUNING.ttl
    assert await queue.beat(job) == "complete"


async def test_a_swept_attempt_writes_nothing_over_the_next(queue: WorkQueue) -> None:
    await enqueue(queue)
    first = await take(queue, "w1")
    # w1 is cut off: a sweep aborts its job and puts it back; w2 takes it.
    sweeper = await stored(queue)
    await queue.abort(sweeper, "swept")
    await queue.retry(await stored(queue), "swept")
    second = await take(queue, "w2")
    # What w1 wrote meanwhile reaches Redis now.
    assert await queue.beat(first) == "other"
    assert await queue.write_finish(first, {"outcome": "failed"}) == "other"
    await queue.retry(first, "cancelled")
    record = await stored(queue)
    assert (record.status, record.attempts, record.worker_id) == (Status.ACTIVE, 2, "w2")
    assert await queue.count("queued") == 0  # not put back a second time
    assert await queue.write_finish(second, {"outcome": "delivered"}) == "ok"


async def test_a_beat_never_writes_over_a_cancel(queue: WorkQueue) -> None:
    await enqueue(queue)
    job = await take(queue, "w1")
    await queue.abort(await stored(queue), "user-cancel")
    assert await queue.beat(job) == "aborting"
    record = await stored(queue)
    assert (record.status, record.error) == (Status.ABORTING, "user-cancel")
    # The worker answers the cancel with its result: stored over the abort.
    assert await queue.write_finish(job, {"outcome": "cancelled"}) == "ok"
    await queue.abort(await stored(queue), "user-cancel")  # a second cancel changes nothing
    assert (await stored(queue)).status is Status.COMPLETE


async def test_a_waiting_job_is_cancelled_at_once(queue: WorkQueue) -> None:
    await enqueue(queue)
    job = await stored(queue)
    await queue.abort(job, "user-cancel")
    assert job.status is Status.ABORTED
    assert (await stored(queue)).status is Status.ABORTED
    assert await queue.dequeue(timeout=0.1) is None


async def sweep(queue: WorkQueue) -> list[str]:
    await queue.redis.delete(queue.namespace("sweep"))  # the lock of the last sweep
    return await queue.sweep(lock=1, abort=0.1)


async def test_a_sweep_between_the_two_steps_of_a_take_leaves_the_job_alone(
    queue: WorkQueue,
) -> None:
    await enqueue(queue)
    moved = await queue.dequeue(timeout=1)  # in the active list, not yet marked active
    assert moved is not None
    await sweep(queue)
    assert (await stored(queue)).status is Status.QUEUED  # not aborted, not put back
    moved.attempts, moved.worker_id = 1, "w1"
    await moved.update(status=Status.ACTIVE)  # the take goes through
    assert await queue.beat(moved) == "ok"


async def test_a_worker_that_died_between_the_two_steps_loses_the_job_at_the_next_sweep(
    queue: WorkQueue,
) -> None:
    await enqueue(queue)
    assert await queue.dequeue(timeout=1) is not None
    await sweep(queue)
    assert await queue.count("queued") == 0
    await sweep(queue)  # still not taken: swept, and put back for another worker
    assert await queue.count("queued") == 1
    assert (await take(queue, "w2")).attempts == 1
