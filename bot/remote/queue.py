"""The SAQ queue on our own Redis client (SAQ's from_url refuses unix:// and knows no retry
policy), with its writes to a job's record fenced and given a deadline.

SAQ writes a job's whole record from the copy a process holds. A worker cut off from Redis and
back, or a stop racing a sweep, would write an old attempt's copy over the attempt that runs
now, or over its result. Here every write is one script that first checks that the record is
still what the writer's copy describes (the same attempt of the same worker, in a status the
write may follow) and otherwise changes nothing: it answers what the record is instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from saq.job import Job, Status
from saq.queue.redis import RedisQueue
from saq.utils import now

from bot.remote import keys
from bot.remote.redis_client import UNAVAILABLE
from bot.remote.tuning import Tuning

log = logging.getLogger(__name__)

# KEYS: the record, active list, queued list, incomplete set, abort key.
# ARGV: op, new record, attempts, worker, statuses it may follow, a number (finish: ttl,
# retry: score, abort: the abort key's ttl), the new status, the abort's reason.
_WRITE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 'gone' end
local stored = cjson.decode(raw)
local status = stored.status or 'new'
local attempts = tonumber(stored.attempts or 0)
if ARGV[1] == 'take' then
  if status ~= 'queued' or attempts + 1 ~= tonumber(ARGV[3]) then return status end
elseif attempts ~= tonumber(ARGV[3]) or (stored.worker_id or '') ~= ARGV[4] then
  return 'other'
elseif not string.find(ARGV[5], ' ' .. status .. ' ', 1, true) then
  return status
end
local answer = 'ok'
if ARGV[1] == 'finish' then
  redis.call('LREM', KEYS[2], 1, KEYS[1])
  redis.call('ZREM', KEYS[4], KEYS[1])
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[6])
elseif ARGV[1] == 'retry' then
  redis.call('LREM', KEYS[2], 1, KEYS[1])
  redis.call('LREM', KEYS[3], 1, KEYS[1])
  redis.call('ZADD', KEYS[4], ARGV[6], KEYS[1])
  redis.call('RPUSH', KEYS[3], KEYS[1])
  redis.call('SET', KEYS[1], ARGV[2])
elseif ARGV[1] == 'abort' then
  if redis.call('LREM', KEYS[3], 0, KEYS[1]) > 0 then answer = 'dequeued' end
  redis.call('ZREM', KEYS[4], KEYS[1])
  if answer == 'ok' then redis.call('LREM', KEYS[2], 0, KEYS[1]) end
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[5], ARGV[8], 'EX', ARGV[6])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
redis.call('PUBLISH', KEYS[1], ARGV[7])
return answer
"""
# What each write may follow. A beat never writes "active" over an abort; a result or a
# re-queue is never written over another result; a sweep ends or re-queues only a job its own
# abort reached (SAQ's sweep goes on after an abort that changed nothing).
_AFTER = {
    "beat": " active ",
    "finish": " active aborting ",
    "retry": " active aborting aborted ",
    "abort": " queued active ",
    "take": "",
    "swept_finish": " aborting ",
    "swept_retry": " aborting aborted ",
}


class WorkQueue(RedisQueue):
    def __init__(self, client: Redis, tuning: Tuning) -> None:
        super().__init__(client, name=keys.QUEUE)
        self._sweep_wait = tuning.sweep_wait
        self._deadline = tuning.call_deadline_s
        self._write_script = client.register_script(_WRITE)
        self._untaken: set[tuple[str, int]] = set()  # seen by this sweep, and by the one before
        self._untaken_before: set[tuple[str, int]] = set()

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        # A sweep waits this long for the worker of a stuck job to confirm it stopped; a dead
        # worker never does, so the wait is part of every hand-over.
        self._untaken_before, self._untaken = self._untaken, set()
        return await super().sweep(lock, abort=min(abort, self._sweep_wait))

    async def beat(self, job: Job) -> str:
        """Touch a running attempt's record: "ok"; "aborting" (its cancel or a sweep is on the
        way); "other" or "gone" (it is no longer this attempt's); "unanswered"."""
        job.touched = now()
        return await self._write("beat", job)

    async def _update(self, job: Job, status: Status | None = None, **kwargs: Any) -> None:
        # SAQ updates a record to take a job just dequeued, and (through beat) to touch it.
        op = "take" if status is Status.ACTIVE else "beat"
        await self._write(op, job)

    async def _finish(
        self, job: Job, status: Status, *, result: Any = None, error: str | None = None
    ) -> None:
        await self._write("finish", job, swept=error == self.swept_error_message)

    async def _retry(self, job: Job, error: str | None) -> None:
        await self._write("retry", job, swept=error == self.swept_error_message)

    async def abort(self, job: Job, error: str, ttl: float = 5) -> None:
        """Mark a waiting or running job aborted (a waiting one is finished at once, as SAQ
        does); nothing changes once it has ended or another attempt holds it."""
        if error == self.swept_error_message and job.status is not Status.ACTIVE:
            # SAQ sweeps a job in the active list not marked taken: most likely a worker
            # between the two steps of its take (SAQ lists it active before it marks it taken), so
            # only at a second sweep.
            untaken = (job.key, job.attempts)
            self._untaken.add(untaken)
            if untaken not in self._untaken_before:
                return
        job.status, job.error = Status.ABORTING, error
        if await self._write("abort", job, int(ttl), error) == "dequeued":
            await self.finish(job, Status.ABORTED, error=error)
            await self._bounded(self.redis.delete(job.abort_id))

    async def finish_abort(self, job: Job) -> None:
        await self._bounded(self.redis.delete(job.abort_id))
        await job.finish(Status.ABORTED, error=job.error)

    async def write_finish(self, job: Job, result: Any) -> str:
        """A worker's result, stored with the status "complete": "ok", "complete" (already
        stored), or why it was not ("unanswered", "other", ...)."""
        job.status, job.result, job.error, job.completed = Status.COMPLETE, result, None, now()
        job.progress = 1.0
        return await self._write("finish", job)

    async def _write(
        self, op: str, job: Job, number: int | None = None, error: str = "", *, swept: bool = False
    ) -> str:
        if number is None:
            number = job.ttl if op == "finish" else int(job.scheduled)
        after = _AFTER[f"swept_{op}" if swept else op]
        args = [op, self.serialize(job), job.attempts, job.worker_id or "", after, number]
        try:
            async with asyncio.timeout(self._deadline):
                answer = await self._write_script(
                    keys=[job.id, self._active, self._queued, self._incomplete, job.abort_id],
                    args=[*args, job.status.value, error],
                )
        except UNAVAILABLE as exc:
            log.info("job_write_unanswered key=%s op=%s error=%r", job.key, op, exc)
            return "unanswered"
        answer = answer.decode() if isinstance(answer, bytes) else str(answer)
        if answer not in ("ok", "dequeued"):
            log.info("job_write_refused key=%s op=%s record=%s", job.key, op, answer)
        return answer

    async def _bounded(self, command: Any) -> None:
        with contextlib.suppress(*UNAVAILABLE):
            async with asyncio.timeout(self._deadline):
                await command
