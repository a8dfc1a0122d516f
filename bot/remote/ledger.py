"""A job's memory across attempts on any worker, so that a job run again sends nothing twice.

In the hash `tgfetch:ledger:{job}`:
- `part:N`: part N was delivered (Telegram's answer: message id, file_id, kind, route);
- `out:N`: part N went out whole and its answer had not come yet (or a resend was asked for);
  an attempt that finds this without `part:N` does not send again: the part is most likely in
  the chat (issue 12's "answer lost": at most one copy);
- `choice`: the user's format pick; `outcome`: the job's outcome was sent to the front.

Before sending part N an attempt takes the lease `tgfetch:claim:{job}:N` (renewed while it
sends): a second attempt of the same job (a worker cut off, not dead) waits for the part or
for the lease to lapse instead of sending it too. Parts are numbered in the order a run sends
them, which for a given job is always the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.jobs.pipeline import Deliverer
from bot.model.failures import JobError, StaleFileIdError, UnconfirmedDeliveryError
from bot.model.job import FormatChoice
from bot.model.media import MediaKind
from bot.remote import keys
from bot.remote.redis_client import reply
from bot.upload.album import Resent
from bot.upload.types import Delivered, Delivery, ProgressFn

log = logging.getLogger(__name__)

CLAIM_POLL_S = 0.5  # how often a waiting attempt looks at another attempt's part

# Extends the lease only while it is still this attempt's; 0 when it lapsed or was taken.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

T = TypeVar("T", Delivered, list[Delivered])
Send = Callable[[ProgressFn], Awaitable[T]]


@dataclass(frozen=True, slots=True)
class Memory:
    finished: bool  # the outcome went to the front: nothing left to do
    choice: FormatChoice | None


class Ledger:
    """One job's ledger, as one attempt (`token`) sees it."""

    def __init__(
        self, client: Redis, job_id: int, token: str, *, lease_s: float, ttl: int
    ) -> None:
        self._client = client
        self._job_id = job_id
        self._key = keys.ledger(job_id)
        self._token = token
        self._lease_ms = int(lease_s * 1000)
        self._ttl = ttl

    async def recall(self) -> Memory:
        finished, choice = await reply(self._client.hmget(self._key, ["outcome", "choice"]))
        picked = None
        if choice is not None:
            with contextlib.suppress(ValueError):
                picked = FormatChoice(choice.decode())
        return Memory(finished is not None, picked)

    async def remember_choice(self, choice: FormatChoice) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._key, "choice", choice.value)
            pipe.expire(self._key, self._ttl)
            await pipe.execute()

    def mark_finished(self, pipe: Pipeline) -> None:
        """Add "outcome sent" to the transaction that sends it."""
        pipe.hset(self._key, "outcome", "1")
        pipe.expire(self._key, self._ttl)

    async def once(
        self, part: int, send: Send[Delivered], progress: ProgressFn, *, resend: bool
    ) -> Delivered:
        """Deliver part `part` unless an earlier attempt did (see `_once`)."""
        return await self._once(part, send, progress, resend=resend, answer=_ONE)

    async def once_album(
        self, part: int, send: Send[list[Delivered]], progress: ProgressFn, *, resend: bool
    ) -> list[Delivered]:
        """An album is one part: one request, its answers stored together (issue 16)."""
        return await self._once(part, send, progress, resend=resend, answer=_ALBUM)

    async def _once(
        self,
        part: int,
        send: Send[T],
        progress: ProgressFn,
        *,
        resend: bool,
        answer: _Answer[T],
    ) -> T:
        """Deliver part `part` unless an earlier attempt did: its answer then, or
        UnconfirmedDeliveryError when it went out unanswered. `resend`: a send by file_id,
        whose request is all there is (marked as out before it goes)."""
        claim = keys.claim(self._job_id, part)
        while True:
            known = await self._known(part, answer, claimed=False)
            if known is not None:
                return known
            if await reply(self._client.set(claim, self._token, nx=True, px=self._lease_ms)):
                break
            # Another attempt is sending it: its answer, or the lapse of its lease, decides.
            await asyncio.sleep(CLAIM_POLL_S)
        marks: list[asyncio.Task[None]] = []
        renewing = asyncio.create_task(self._renew(claim), name=f"claim-{self._job_id}-{part}")
        try:
            # Between our look and our claim another attempt may have finished the part, or
            # sent it and died unanswered.
            known = await self._known(part, answer, claimed=True)
            if known is not None:
                return known
            if resend:
                await self._mark_out(part)

            def watched(done: int, total: int) -> None:
                progress(done, total)
                if total and done >= total and not marks:  # Telegram may have it from now on
                    marks.append(asyncio.ensure_future(self._mark_out(part)))

            try:
                sent = await send(watched)
            except (JobError, StaleFileIdError):  # refused: the part is not in the chat
                await asyncio.gather(*marks)
                await reply(self._client.hdel(self._key, _out(part)))
                raise
            except UnconfirmedDeliveryError:  # out, its answer lost: never sent again
                await asyncio.gather(*marks)
                await self._mark_out(part)
                raise
            await asyncio.gather(*marks)
            storing = asyncio.ensure_future(self._store(part, answer.encode(sent)))
            try:
                await asyncio.shield(storing)
            except asyncio.CancelledError:
                # Telegram has the part: a stop now must not undo its delivery, which the
                # pipeline records next (as it does in a single process).
                await storing
                _uncancel()
            return sent
        finally:
            await asyncio.gather(*marks, return_exceptions=True)
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await reply(self._client.eval(_RELEASE, 1, claim, self._token))

    async def _known(self, part: int, answer: _Answer[T], *, claimed: bool) -> T | None:
        """The part's answer if it was delivered. Holding the claim, a part that went out
        unanswered raises (without it, the attempt that sent it may still be waiting)."""
        sent, out = await reply(self._client.hmget(self._key, [_part(part), _out(part)]))
        if sent is not None:
            log.info("part_already_delivered job=%d part=%d", self._job_id, part)
            return answer.decode(sent)
        if out is not None and claimed:
            log.warning("part_sent_unanswered job=%d part=%d", self._job_id, part)
            raise UnconfirmedDeliveryError("upload", "an earlier attempt sent it; no answer came")
        return None

    async def _mark_out(self, part: int) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._key, _out(part), "1")
            pipe.expire(self._key, self._ttl)
            await pipe.execute()

    async def _store(self, part: int, sent: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._key, _part(part), sent)
            pipe.hdel(self._key, _out(part))
            pipe.expire(self._key, self._ttl)
            await pipe.execute()

    async def _renew(self, claim: str) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 4000)
            if not await reply(self._client.eval(_RENEW, 1, claim, self._token, self._lease_ms)):
                log.warning("claim_lapsed job=%d claim=%s", self._job_id, claim)
                return


class LedgerDeliverer:
    """The pipeline's Deliverer on a worker: every part goes through the ledger once."""

    def __init__(self, inner: Deliverer, ledger: Ledger) -> None:
        self._inner = inner
        self._ledger = ledger
        self._sent = 0  # parts delivered by this run; a refused send does not count

    @property
    def capacity(self) -> int:
        return self._inner.capacity

    @property
    def album_limit(self) -> int:
        return self._inner.album_limit

    async def deliver(self, delivery: Delivery, progress: ProgressFn) -> Delivered:
        try:
            sent = await self._ledger.once(
                self._sent + 1,
                lambda watched: self._inner.deliver(delivery, watched),
                progress,
                resend=False,
            )
        except UnconfirmedDeliveryError:
            self._sent += 1  # the part's number is spent: the next part is the next number
            raise
        self._sent += 1
        return sent

    async def send_album(
        self, deliveries: list[Delivery], progress: ProgressFn
    ) -> list[Delivered]:
        """An album is one request: one part in the ledger, its answers kept together."""
        try:
            sent = await self._ledger.once_album(
                self._sent + 1,
                lambda watched: self._inner.send_album(deliveries, watched),
                progress,
                resend=False,
            )
        except UnconfirmedDeliveryError:
            self._sent += 1
            raise
        self._sent += 1
        return sent

    async def resend_album(
        self, chat_id: int, items: list[Resent], *, reply_to: int | None = None
    ) -> list[Delivered]:
        try:
            sent = await self._ledger.once_album(
                self._sent + 1,
                lambda _watched: self._inner.resend_album(chat_id, items, reply_to=reply_to),
                _ignore,
                resend=True,
            )
        except UnconfirmedDeliveryError:
            self._sent += 1
            raise
        self._sent += 1
        return sent

    async def resend(
        self,
        chat_id: int,
        kind: MediaKind,
        file_id: str,
        caption: str,
        *,
        reply_to: int | None = None,
    ) -> Delivered:
        try:
            sent = await self._ledger.once(
                self._sent + 1,
                lambda _watched: self._inner.resend(
                    chat_id, kind, file_id, caption, reply_to=reply_to
                ),
                _ignore,
                resend=True,
            )
        except UnconfirmedDeliveryError:
            self._sent += 1
            raise
        self._sent += 1
        return sent


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def _ignore(_done: int, _total: int) -> None:
    return None


def _part(part: int) -> str:
    return f"part:{part}"


def _out(part: int) -> str:
    return f"out:{part}"


def _delivered(sent: Delivered) -> str:
    return json.dumps(
        {
            "message_id": sent.message_id,
            "file_id": sent.file_id,
            "kind": sent.kind.value,
            "route": sent.route,
        }
    )


@dataclass(frozen=True, slots=True)
class _Answer(Generic[T]):
    """How a part's answer is kept in the ledger: one file's, or an album's."""

    encode: Callable[[T], str]
    decode: Callable[[bytes], T]


def _album(sent: list[Delivered]) -> str:
    return json.dumps([json.loads(_delivered(one)) for one in sent])


def _read_album(raw: bytes) -> list[Delivered]:
    return [_read_delivered(json.dumps(one).encode()) for one in json.loads(raw)]


def _read_delivered(raw: bytes) -> Delivered:
    data = json.loads(raw)
    return Delivered(
        int(data["message_id"]), str(data["file_id"]), MediaKind(data["kind"]), str(data["route"])
    )


_ONE: _Answer[Delivered] = _Answer(_delivered, _read_delivered)
_ALBUM: _Answer[list[Delivered]] = _Answer(_album, _read_album)
