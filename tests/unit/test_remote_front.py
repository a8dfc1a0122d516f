"""The front's engine with its loop (upkeep.py) and records (intake.py), against a real
redis-server and SQLite, with SAQ's worker played by the test: what the queue shows of a job is
recorded and told once, a job the queue lost is sent again, a cancel ends a waiting job at once
and a running one when its worker answers (or, if none does, after a while), the question
and the pick cross Redis, and a job a worker parked waits at the front (through a restart of
it) and goes back to the queue at its time, unless the queue ran it meanwhile."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from saq.job import Job as SaqJob
from saq.job import Status

from bot.jobs.engine import Admission, JobReport
from bot.jobs.events import JobEvent, NeedChoice, Progress, RetryLater
from bot.jobs.manager import Limits
from bot.jobs.outcomes import Cancelled, Delivered, Failed, Outcome, Parked, SentFile
from bot.model.failures import FailureReason
from bot.model.job import FormatChoice, Job, JobState, ParkMark
from bot.model.media import MediaKind
from bot.remote import keys
from bot.remote.adapters import RemoteControl
from bot.remote.events import EventReader, EventWriter
from bot.remote.front import RemoteEngine
from bot.remote.intake import FrontStores
from bot.remote.queue import WorkQueue
from bot.remote.redis_client import QueueProbe, quick_client, reply
from bot.remote.tuning import Tuning
from bot.remote.upkeep import Upkeep
from bot.remote.wire import JobSpec, Result
from bot.store.cache import CachedFile, CacheRepo, put_file
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome, LinkRepo
from bot.store.outcomes import Cached, Ending, OutcomeRepo
from tests.redis_server import RedisServer

TUNING = Tuning(heartbeat=2, sweep=1)
URL = "https://example.com/clip"


class Chat:
    """What the user would see of one job: its events, then its last word."""

    def __init__(self) -> None:
        self.events: list[JobEvent] = []
        self.last: list[Outcome] = []
        self.told = asyncio.Event()

    def emit(self, event: JobEvent) -> None:
        self.events.append(event)

    async def finish(
        self, outcome: Outcome, *, stopping: bool = False, retry: bool = True
    ) -> None:
        self.last.append(outcome)
        self.told.set()

    async def close(self) -> None:
        return None


class NotCached:
    """The front's pipeline, as far as the engine asks it: nothing is in the cache."""

    async def in_cache(self, job: Job) -> bool:
        return False


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Gate:
    """The front's wait for a parked job's next try: over when the test says."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.asked: list[dt.datetime] = []
        self.waiting = asyncio.Event()

    async def __call__(self, moment: dt.datetime) -> None:
        self.asked.append(moment)
        self.waiting.set()
        await self.open.wait()


class Front:
    def __init__(
        self,
        db: Database,
        client: Redis,
        queue: WorkQueue,
        chats: dict[int, Chat] | None = None,
        per_user: int = 5,
    ) -> None:
        def now() -> dt.datetime:
            return dt.datetime.now(dt.UTC)

        self.db = db
        self.client = client
        self.queue = queue
        self.chats: dict[int, Chat] = {} if chats is None else chats
        self.clock = Clock()
        self.gate = Gate()
        self.reports: list[JobReport] = []
        self.probe = QueueProbe(client)
        self.cache = CacheRepo(db)
        self.engine = RemoteEngine(
            limits=Limits(workers=1, per_user=per_user, max_queued=10, park_hours=6),
            stores=FrontStores(
                db, JobRepo(db, now), LinkRepo(db, now), OutcomeRepo(db, now), self.cache
            ),
            pipeline=NotCached(),  # type: ignore[arg-type]
            queue=queue,
            client=client,
            probe=self.probe,
            tuning=TUNING,
            observers=self.observer,
            wall_clock=now,
            clock=self.clock,
            wait_until=self.gate,
            on_outcome=self.reports.append,
        )
        self.upkeep = Upkeep(
            engine=self.engine, queue=queue, probe=self.probe, tuning=TUNING, clock=self.clock
        )

    def observer(self, job: Job, reply_to: int | None) -> Chat:
        return self.chats.setdefault(job.id, Chat())

    async def submit(self, user: int = 7) -> int:
        result = await self.engine.submit(
            user_id=user, chat_id=user, url=URL, language="en", reply_to=None
        )
        assert result.job_id is not None
        return result.job_id

    async def told(self, job_id: int) -> Outcome:
        chat = self.chats[job_id]
        await asyncio.wait_for(chat.told.wait(), 5)
        [outcome] = chat.last
        return outcome

    async def row(self, job_id: int) -> tuple[str, int, str]:
        def query(conn: sqlite3.Connection) -> tuple[str, int, str]:
            sql = (
                "SELECT j.state, j.attempts, l.outcome FROM jobs j"
                " JOIN links l ON l.id = j.link_id WHERE j.id = ?"
            )
            state, attempts, outcome = conn.execute(sql, (job_id,)).fetchone()
            return str(state), int(attempts), str(outcome)

        return await self.db.run(query)


@pytest.fixture
async def front(redis: RedisServer, tmp_path: Path) -> AsyncIterator[Front]:
    db = Database(tmp_path / "front.sqlite3")
    await db.open()
    client = quick_client(SecretStr(redis.url))
    queue = WorkQueue(client, TUNING)
    await queue.connect()
    try:
        yield Front(db, client, queue)
    finally:
        await queue.disconnect()
        await db.close()


async def take(queue: WorkQueue, worker: str = "w1") -> SaqJob:
    """A worker takes the next job, as SAQ's does."""
    job = await queue.dequeue(timeout=1)
    assert job is not None
    job.attempts += 1
    job.worker_id = worker
    await job.update(status=Status.ACTIVE)
    return job


def delivered(choice: str = "auto") -> Result:
    file = CachedFile("AgAD-new", MediaKind.VIDEO, "Clip", 2048)
    return Result(
        ending=Ending(
            JobState.DONE,
            LinkOutcome.DELIVERED,
            size=2048,
            title="Clip",
            cached=Cached(URL, choice, file),
        ),
        outcome=Delivered((SentFile("botapi", 2048),)),
        choice=FormatChoice.AUTO,
        dropped=("auto", "audio"),  # both file_ids were stale; "auto" was sent again
        seconds=1.0,
        worker="w1",
    )


async def test_a_job_taken_and_its_result_are_recorded_and_told_once(front: Front) -> None:
    stale = CachedFile("AgAD-old", MediaKind.AUDIO, "Clip", 100)
    await front.db.run(lambda conn: put_file(conn, URL, "audio", stale, at=0.0))
    job_id = await front.submit()
    job = await take(front.queue)
    await front.upkeep.settle_all()
    assert await front.row(job_id) == ("running", 1, "pending")
    assert front.engine.running == 1
    assert await front.queue.write_finish(job, delivered().dump()) == "ok"
    await front.upkeep.settle_all()
    assert await front.told(job_id) == delivered().outcome
    assert await front.row(job_id) == ("done", 1, "delivered")
    cached = await front.cache.of_url(URL)
    assert cached == {"auto": CachedFile("AgAD-new", MediaKind.VIDEO, "Clip", 2048)}
    await front.upkeep.settle_all()  # read again: nothing is told twice
    assert len(front.chats[job_id].last) == 1
    assert front.engine.running == 0


async def test_a_job_the_queue_lost_is_sent_again(front: Front) -> None:
    await front.submit()
    await front.client.flushall()  # Redis came back without its data
    await front.upkeep.settle_all()
    assert (await take(front.queue)).key == "1"


async def test_a_cancel_ends_a_waiting_job_at_once(front: Front) -> None:
    job_id = await front.submit()
    assert await front.engine.cancel(job_id, 7)
    assert await front.told(job_id) == Cancelled()
    assert await front.row(job_id) == ("cancelled", 0, "cancelled")
    assert await front.queue.dequeue(timeout=0.1) is None  # no worker gets it


async def test_a_cancel_of_a_running_job_ends_with_its_workers_result(front: Front) -> None:
    job_id = await front.submit()
    job = await take(front.queue)
    assert await front.engine.cancel(job_id, 7)
    assert (await front.queue.job("1")).status is Status.ABORTING  # type: ignore[union-attr]
    # The worker stopped, but the file had gone out already: the user is told so.
    assert await front.queue.write_finish(job, delivered().dump()) == "ok"
    await front.upkeep.settle_all()
    assert await front.told(job_id) == delivered().outcome


async def test_a_cancel_no_worker_answers_is_recorded_after_a_while(front: Front) -> None:
    job_id = await front.submit()
    await take(front.queue)  # and dies
    assert await front.engine.cancel(job_id, 7)
    await front.upkeep.settle_all()
    assert not front.chats[job_id].last
    front.clock.now += TUNING.cancel_give_up_s
    await front.upkeep.settle_all()
    assert await front.told(job_id) == Cancelled()


@pytest.mark.parametrize("result", [None, {"v": 9}])  # it ran nothing; another version's
async def test_a_job_ended_without_a_result_it_can_read_is_told_it_failed(
    front: Front, result: Any
) -> None:
    job_id = await front.submit()
    job = await take(front.queue)
    await front.queue.finish(job, Status.COMPLETE, result=result)
    await front.upkeep.settle_all()
    assert await front.told(job_id) == Failed(FailureReason.INTERRUPTED)
    assert (await front.row(job_id))[0] == "failed"


async def test_a_job_swept_out_of_retries_is_told_it_failed(front: Front) -> None:
    job_id = await front.submit()
    await take(front.queue)  # its worker dies, the last of its attempts
    stuck = await front.queue.job("1")
    assert stuck is not None
    await front.queue.abort(stuck, "swept")
    await front.queue.finish(stuck, Status.ABORTED, error="swept")
    await front.upkeep.settle_all()
    assert await front.told(job_id) == Failed(FailureReason.INTERRUPTED)


async def test_the_question_crosses_the_lossy_stream_and_the_pick_goes_back(
    front: Front,
) -> None:
    job_id = await front.submit()
    writer = EventWriter(front.client, TUNING.events_maxlen, TUNING.call_deadline_s)
    reader = EventReader(front.client, front.probe, front.engine.show)
    tasks = [asyncio.create_task(reader.run()), asyncio.create_task(writer.run())]
    try:
        chat = front.chats[job_id]
        question = NeedChoice("Clip", 2048, 30.0)
        while question not in chat.events:  # the reader starts from the stream's end
            writer.emit(job_id, Progress("download", 1, 2, None, None))
            writer.emit(job_id, question)
            await asyncio.sleep(0.05)
        assert await front.engine.choose(job_id, 7, FormatChoice.AUDIO)
        control = RemoteControl(front.client, job_id, TUNING.call_deadline_s)
        assert await control.wait_choice(5) is FormatChoice.AUDIO
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert await reply(front.client.llen(keys.choice(job_id))) == 0


SINCE = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
RETRY_AT = SINCE + dt.timedelta(minutes=4)


def parked() -> Result:
    """A worker's result for a job the site refused for now (as its pipeline records it)."""
    return Result(
        ending=Ending(
            JobState.PARKED, attempts=0, parked=ParkMark(SINCE, RETRY_AT, "rate_limited")
        ),
        outcome=Parked(Failed(FailureReason.RATE_LIMITED, status=429), SINCE, RETRY_AT),
        choice=None,
        dropped=(),
        seconds=0.5,
        worker="w1",
    )


async def park_one(front: Front) -> int:
    """A job taken by a worker, which reports it parked; the front waits for its time."""
    job_id = await front.submit()
    job = await take(front.queue)
    assert await front.queue.write_finish(job, parked().dump()) == "ok"
    await front.upkeep.settle_all()
    await asyncio.wait_for(front.gate.waiting.wait(), 5)
    return job_id


async def test_a_parked_job_keeps_its_slot_and_goes_back_to_the_queue_at_its_time(
    front: Front,
) -> None:
    front = Front(front.db, front.client, front.queue, per_user=1)
    job_id = await park_one(front)
    chat = front.chats[job_id]
    assert chat.events == [RetryLater("rate_limited", 6)]  # told once; no last word
    assert not chat.last
    assert await front.row(job_id) == ("parked", 0, "pending")
    assert front.gate.asked == [RETRY_AT]
    assert [r.url for r in front.reports] == [URL]  # the admins' alert names the site
    assert (front.engine.running, front.engine.queued) == (0, 0)
    await front.upkeep.settle_all()  # its result is read no more while it waits
    assert len(chat.events) == 1
    more = await front.engine.submit(user_id=7, chat_id=7, url=URL, language="en", reply_to=None)
    assert more.admission is Admission.USER_LIMIT
    front.gate.open.set()
    again = await take(front.queue)
    assert again.key == str(job_id) and again.attempts == 1
    sent = JobSpec.read((again.kwargs or {})["spec"]).job
    assert sent.parked_since == SINCE  # the window counts from the first refusal
    await front.upkeep.settle_all()
    assert await front.row(job_id) == ("running", 1, "pending")
    assert await front.queue.write_finish(again, delivered().dump()) == "ok"
    await front.upkeep.settle_all()
    assert await front.told(job_id) == delivered().outcome
    assert chat.events == [RetryLater("rate_limited", 6)]


async def test_a_parked_job_is_cancelled_at_once_and_never_sent_again(front: Front) -> None:
    job_id = await park_one(front)
    assert await front.engine.cancel(job_id, 7)
    assert await front.told(job_id) == Cancelled()
    assert await front.row(job_id) == ("cancelled", 0, "cancelled")
    held = await front.queue.job(str(job_id))
    assert held is not None and held.status is Status.COMPLETE  # the parked run, not a new one
    assert front.engine.queued == 0


async def test_a_job_parked_when_the_front_stopped_waits_again_after_its_restart(
    front: Front,
) -> None:
    job_id = await park_one(front)
    await front.engine.shutdown(1.0)
    again = Front(front.db, front.client, front.queue, front.chats)
    again.gate.open.set()
    assert await again.engine.resume() == 1
    try:
        taken = await take(front.queue)
        assert taken.key == str(job_id)
        assert await front.queue.write_finish(taken, delivered().dump()) == "ok"
        assert await again.told(job_id) == delivered().outcome  # the front's own upkeep
    finally:
        await again.engine.shutdown(1.0)
    assert len(front.chats[job_id].events) == 1  # nothing more said of the wait


async def test_a_parked_job_the_queue_ran_while_the_front_was_away_is_not_sent_again(
    front: Front,
) -> None:
    job_id = await park_one(front)
    front.gate.open.set()  # sent back; the front stops before a worker takes it
    taken = await take(front.queue)
    await front.engine.shutdown(1.0)
    assert await front.queue.write_finish(taken, delivered().dump()) == "ok"
    again = Front(front.db, front.client, front.queue, front.chats)
    again.gate.open.set()
    await again.engine.resume()  # the job is still parked in the database
    try:
        assert await again.told(job_id) == delivered().outcome
    finally:
        await again.engine.shutdown(1.0)
    held = await front.queue.job(str(job_id))
    assert held is not None and held.status is Status.COMPLETE and held.attempts == 1


async def test_a_job_cancelled_while_its_worker_was_refused_ends_cancelled(front: Front) -> None:
    job_id = await front.submit()
    job = await take(front.queue)
    assert await front.engine.cancel(job_id, 7)
    assert await front.queue.write_finish(job, parked().dump()) == "ok"  # before it saw the abort
    await front.upkeep.settle_all()
    assert await front.told(job_id) == Cancelled()
    assert await front.row(job_id) == ("cancelled", 0, "cancelled")
    assert front.engine.queued == 0
