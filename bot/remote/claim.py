"""The lease of the attempt that sends one part: taken before the send, renewed while it goes
out, and renewed once more before its last byte leaves (the fence), so that a worker completes
a send only under a claim it confirmed within the lease.

The lease runs on Redis's clock (PEXPIRE), not on any worker's. A renewal refused, or one that
cannot be answered before the lease would lapse, stops the send at once: its last byte is still
held, so Telegram has no whole request, and the job stops (ClaimLostError) to run again. The
fence marks the part as gone out (`out:N` in the ledger) in the same script.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis

from bot.download.cancel import StoppedError, StopReason
from bot.remote.redis_client import UNAVAILABLE, call
from bot.upload.types import Fence, ProgressFn

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_S = 0.5  # between tries of a renewal Redis did not answer
RELEASE_S = 1.0  # a release is a courtesy (a lease lapses by itself): not worth a long wait

# Extends the lease while it is still this attempt's; with a field, also marks the part as
# gone out in the ledger (the fence). 0 when the lease lapsed or was taken.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ClaimLostError(StoppedError):
    """The claim lapsed, was taken, or could not be confirmed in time: the send stopped before
    it completed, and the job runs again."""

    def __init__(self, why: str) -> None:
        super().__init__(StopReason.SHUTDOWN)
        self.why = why


class Claim:
    """One part's lease, for one attempt (`token`) and one send; `ledger`: the job's hash."""

    def __init__(
        self,
        client: Redis,
        key: str,
        ledger: str,
        token: str,
        *,
        lease_s: float,
        deadline_s: float,
        ttl: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self._client = client
        self._ledger = ledger
        self._token = token
        self._lease_s = lease_s
        self._deadline_s = deadline_s
        self._ttl = ttl
        self._clock = clock
        self._held_until = 0.0  # by this process's clock, counted from before each call
        self._asked = asyncio.Event()  # the send is at its fence
        self._passed = asyncio.Event()  # the fence let its last byte go
        self._lost: ClaimLostError | None = None
        self._progress: ProgressFn = _ignore
        self._total = 0
        self._mark = ""

    async def take(self) -> bool:
        """Take the lease if nobody holds it (one of UNAVAILABLE: no answer in time)."""
        asked, lease_ms = self._clock(), int(self._lease_s * 1000)
        claim = self._client.set(self.key, self._token, nx=True, px=lease_ms)
        if taken := await call(self._deadline_s, claim):
            self._held_until = asked + self._lease_s
        return bool(taken)

    async def release(self) -> None:
        """Give the lease up (a lease left behind lapses by itself)."""
        with contextlib.suppress(*UNAVAILABLE):
            deadline = min(self._deadline_s, RELEASE_S)
            await call(deadline, self._client.eval(_RELEASE, 1, self.key, self._token))

    async def hold(
        self, send: Callable[[ProgressFn, Fence], Awaitable[T]], progress: ProgressFn, mark: str
    ) -> T:
        """Run `send` under the lease, renewed while it runs; `send` awaits its fence before
        its last byte, which renews the lease once more and marks `mark` in the ledger. A
        renewal that fails first stops `send` and raises ClaimLostError.

        Past its fence a send is Telegram's: a stop then waits for its answer (within the
        request's own timeouts) instead of cutting it off. The progress `send` reports reaches
        its total only then: the pipeline counts a file as handed over from there."""
        self._progress, self._mark = progress, mark
        sending = asyncio.ensure_future(send(self._watched, self._fence))
        keeping = asyncio.create_task(self._keep(sending), name=f"keep-{self.key}")
        try:
            return await asyncio.shield(sending)
        except asyncio.CancelledError:
            if self._lost is not None:  # the keeper stopped the send
                raise self._lost from None
            if not self._passed.is_set():  # the job stops: Telegram cannot have the file
                log.info("claim_send_stopped claim=%s", self.key)
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending
                raise
            log.info("claim_send_finishing claim=%s", self.key)
            sent = await sending  # stopped past the fence: the delivery is not undone
            _uncancel()
            return sent
        finally:
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeping

    def _watched(self, done: int, total: int) -> None:
        self._total = total
        self._progress(done if self._passed.is_set() else min(done, total - 1), total)

    async def _fence(self) -> None:
        self._asked.set()
        await self._passed.wait()

    async def _keep(self, sending: asyncio.Future[Any]) -> None:
        """Renew every quarter lease, and at once at the fence; past it, renew on (another
        attempt waits for the answer) but stop nothing."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._lease_s / 4):
                    await self._asked.wait()
            fencing = self._asked.is_set() and not self._passed.is_set()
            mine = await self._renew(self._mark if fencing else "")
            if self._passed.is_set():
                continue
            if mine is None and self._clock() + self._deadline_s < self._held_until:
                await asyncio.sleep(RETRY_S)  # time for another try before the lease lapses
                continue
            if not mine:
                why = "taken" if mine is False else "unconfirmed"
                log.warning("claim_lost claim=%s why=%s", self.key, why)
                self._lost = ClaimLostError(why)
                sending.cancel()
                return
            if fencing:
                log.debug("claim_fenced claim=%s", self.key)
                self._asked.clear()
                self._passed.set()
                if self._total:
                    self._progress(self._total, self._total)

    async def _renew(self, mark: str) -> bool | None:
        """True: extended; False: not this attempt's any more; None: no answer in time."""
        asked, lease_ms = self._clock(), int(self._lease_s * 1000)
        args = (self.key, self._ledger, self._token, lease_ms, mark, self._ttl)
        try:
            mine = await call(self._deadline_s, self._client.eval(_RENEW, 2, *args))
        except UNAVAILABLE as exc:
            log.warning("claim_unconfirmed claim=%s error=%r", self.key, exc)
            return None
        if mine:
            self._held_until = asked + self._lease_s
        return bool(mine)


def _ignore(_done: int, _total: int) -> None:
    return None


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
