"""A job's memory across attempts on any worker, so that a job run again sends nothing twice.

In the hash `tgfetch:ledger:{job}`:
- `part:N`: part N was delivered (Telegram's answer: message id, file_id, kind, route);
- `out:N`: part N's last byte was let go (its fence passed) and its answer had not come yet;
  an attempt that finds this without `part:N` does not send again: the part is most likely in
  the chat: an answer lost counts as sent (at most one copy);
- `choice`: the user's format pick, so an attempt after it asks no more.

A part is sent only under its claim (claim.py), which a second attempt of the same job (a
worker cut off, not dead) waits for instead of sending the part too. Parts are numbered in the
order a run sends them, which for a given job is always the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import TypeAdapter
from redis.asyncio import Redis

from bot.jobs.run import Deliverer
from bot.model.failures import JobError, StaleFileIdError, UnconfirmedDeliveryError
from bot.model.job import FormatChoice
from bot.model.media import MediaKind
from bot.remote import keys
from bot.remote.claim import Claim, ClaimLostError
from bot.remote.redis_client import UNAVAILABLE, call
from bot.remote.tuning import Tuning
from bot.upload.album import Resent
from bot.upload.types import Delivery, Fence, ProgressFn, Uploaded

log = logging.getLogger(__name__)

CLAIM_POLL_S = 0.5  # how often a waiting attempt looks at another attempt's part

T = TypeVar("T", Uploaded, list[Uploaded])
Send = Callable[[ProgressFn, Fence], Awaitable[T]]
_ONE: TypeAdapter[Uploaded] = TypeAdapter(Uploaded)
_ALBUM: TypeAdapter[list[Uploaded]] = TypeAdapter(list[Uploaded])


class Ledger:
    """One job's ledger, as one attempt (`token`) sees it. `alive` says whether the attempt
    may still wait: a claim held by another attempt is waited for while it does."""

    def __init__(
        self,
        client: Redis,
        job_id: int,
        token: str,
        tuning: Tuning,
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self._client = client
        self._job_id = job_id
        self._key = keys.ledger(job_id)
        self._token = token
        self._tuning = tuning
        self._deadline = tuning.call_deadline_s
        self._alive = alive

    async def recall(self) -> FormatChoice | None:
        """The user's pick from an earlier attempt, if any (None too when Redis is away)."""
        try:
            choice = await call(self._deadline, self._client.hget(self._key, "choice"))
        except UNAVAILABLE as exc:
            log.warning("ledger_unread job=%d error=%r", self._job_id, exc)
            return None
        if isinstance(choice, bytes):
            with contextlib.suppress(ValueError):
                return FormatChoice(choice.decode())
        return None

    async def remember_choice(self, choice: FormatChoice) -> None:
        try:
            async with asyncio.timeout(self._deadline):
                async with self._client.pipeline(transaction=True) as pipe:
                    pipe.hset(self._key, "choice", choice.value)
                    pipe.expire(self._key, self._tuning.ttl)
                    await pipe.execute()
        except UNAVAILABLE as exc:  # an attempt after this one asks the user again
            log.warning("choice_unremembered job=%d error=%r", self._job_id, exc)

    async def once(
        self, part: int, send: Send[T], progress: ProgressFn, answer: TypeAdapter[T]
    ) -> T:
        """Deliver part `part` unless an earlier attempt did: its answer then, or
        UnconfirmedDeliveryError when it went out unanswered."""
        claim = Claim(
            self._client,
            keys.claim(self._job_id, part),
            self._key,
            self._token,
            lease_s=self._tuning.claim_lease_s,
            deadline_s=self._deadline,
            ttl=self._tuning.ttl,
        )
        while True:
            try:
                known = await self._known(part, answer, claimed=False)
                if known is not None:
                    return known
                if await claim.take():
                    break
            except UNAVAILABLE as exc:  # Redis away: wait while the job is still ours
                log.info("claim_waits job=%d part=%d error=%r", self._job_id, part, exc)
            if not self._alive():
                raise ClaimLostError("not taken")
            # Another attempt is sending it: its answer, or the lapse of its lease, decides.
            await asyncio.sleep(CLAIM_POLL_S)
        try:
            # Between our look and our claim another attempt may have finished the part, or
            # sent it and died unanswered.
            known = await self._unavailable_stops(self._known(part, answer, claimed=True))
            if known is not None:
                return known
            try:
                sent = await claim.hold(send, progress, _out(part))
            except (JobError, StaleFileIdError):  # refused: the part is not in the chat
                await self._forget_out(part)
                raise
            await self._store(part, answer.dump_json(sent).decode())
            return sent
        finally:
            await claim.release()

    async def _known(self, part: int, answer: TypeAdapter[T], *, claimed: bool) -> T | None:
        """The part's answer if it was delivered. Holding the claim, a part that went out
        unanswered raises (without it, the attempt that sent it may still be waiting)."""
        sent, out = await call(
            self._deadline, self._client.hmget(self._key, [_part(part), _out(part)])
        )
        if sent is not None:
            log.info("part_already_delivered job=%d part=%d", self._job_id, part)
            return answer.validate_json(sent)
        if out is not None and claimed:
            log.warning("part_sent_unanswered job=%d part=%d", self._job_id, part)
            raise UnconfirmedDeliveryError("upload", "an earlier attempt sent it; no answer came")
        return None

    async def _forget_out(self, part: int) -> None:
        with contextlib.suppress(*UNAVAILABLE):
            await call(self._deadline, self._client.hdel(self._key, _out(part)))

    async def _store(self, part: int, sent: str) -> None:
        """Keep Telegram's answer. It is in the chat whatever happens here: a stop now must not
        undo the delivery, which the pipeline records next; a Redis away leaves `out:N`."""

        async def store() -> None:
            async with asyncio.timeout(self._deadline):
                async with self._client.pipeline(transaction=True) as pipe:
                    pipe.hset(self._key, _part(part), sent)
                    pipe.hdel(self._key, _out(part))
                    pipe.expire(self._key, self._tuning.ttl)
                    await pipe.execute()

        storing = asyncio.ensure_future(store())
        try:
            await asyncio.shield(storing)
        except asyncio.CancelledError:
            with contextlib.suppress(*UNAVAILABLE):
                await storing
            _uncancel()
        except UNAVAILABLE as exc:
            log.warning("part_unrecorded job=%d part=%d error=%r", self._job_id, part, exc)

    async def _unavailable_stops(self, look: Awaitable[T | None]) -> T | None:
        try:
            return await look
        except UNAVAILABLE as exc:
            raise ClaimLostError(f"unread: {exc!r}") from exc


class LedgerDeliverer:
    """The pipeline's Deliverer on a worker: every part goes through the ledger once, and its
    send waits at its fence for the claim."""

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

    async def deliver(self, delivery: Delivery, progress: ProgressFn) -> Uploaded:
        def send(watched: ProgressFn, fence: Fence) -> Awaitable[Uploaded]:
            return self._inner.deliver(dataclasses.replace(delivery, fence=fence), watched)

        return await self._next(send, progress, _ONE)

    async def send_album(self, deliveries: list[Delivery], progress: ProgressFn) -> list[Uploaded]:
        """An album is one request: one part in the ledger, its answers kept together."""

        def send(watched: ProgressFn, fence: Fence) -> Awaitable[list[Uploaded]]:
            fenced = [dataclasses.replace(d, fence=fence) for d in deliveries]
            return self._inner.send_album(fenced, watched)

        return await self._next(send, progress, _ALBUM)

    async def resend_album(
        self,
        chat_id: int,
        items: list[Resent],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[Uploaded]:
        async def send(_watched: ProgressFn, fence: Fence) -> list[Uploaded]:
            await fence()  # a resend is one small request: confirmed before it goes
            return await self._inner.resend_album(
                chat_id, items, reply_to=reply_to, thread_id=thread_id
            )

        return await self._next(send, _ignore, _ALBUM)

    async def resend(
        self,
        chat_id: int,
        kind: MediaKind,
        file_id: str,
        caption: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Uploaded:
        async def send(_watched: ProgressFn, fence: Fence) -> Uploaded:
            await fence()
            return await self._inner.resend(
                chat_id, kind, file_id, caption, reply_to=reply_to, thread_id=thread_id
            )

        return await self._next(send, _ignore, _ONE)

    async def _next(self, send: Send[T], progress: ProgressFn, answer: TypeAdapter[T]) -> T:
        part = self._sent + 1
        try:
            sent = await self._ledger.once(part, send, progress, answer)
        except UnconfirmedDeliveryError:
            self._sent = part  # the part's number is spent: the next part is the next number
            raise
        self._sent = part
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
