"""The delivered ledger and the claims against a real redis-server: a job run again (its worker
died, or one was cut off) sends no part twice, a part that was refused is sent by the next
attempt, and a send completes only under a claim confirmed within its lease (the fence)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.model.failures import DeliveryError, FailureReason, UnconfirmedDeliveryError
from bot.model.job import FormatChoice
from bot.model.media import MediaInfo, MediaKind
from bot.remote import ledger as ledger_module
from bot.remote.claim import ClaimLostError
from bot.remote.ledger import Ledger, LedgerDeliverer
from bot.remote.redis_client import quick_client, reply
from bot.remote.tuning import Tuning
from bot.upload.album import Resent
from bot.upload.types import Delivery, ProgressFn, Uploaded
from tests.freeze_proxy import FreezeProxy
from tests.redis_server import RedisServer

JOB = 17
SIZE = 1000
TUNING = Tuning(heartbeat=2, sweep=1)  # a lease of 4 s, renewed every second; 1 s per call


class Telegram:
    """A deliverer that counts what reached the chat, and can be told to hold or refuse. Like
    the Bot API route, it awaits the fence before the last byte of a file."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.hold: asyncio.Event | None = None  # before the last byte
        self.after_fence: asyncio.Event | None = None  # after it: the answer is held
        self.refuse = False
        self.lose_answer = False
        self.reached = asyncio.Event()  # all but the last byte went out
        self.fenced = asyncio.Event()  # the last byte went too

    @property
    def capacity(self) -> int:
        return 50 * 1024 * 1024

    @property
    def album_limit(self) -> int:
        return 50 * 1024 * 1024

    async def send_album(self, deliveries: list[Delivery], progress: ProgressFn) -> list[Uploaded]:
        await self._last_byte(deliveries[0], progress)
        sent = []
        for one in deliveries:
            self.sent.append(one.filename)
            n = len(self.sent)
            sent.append(Uploaded(n, f"file-{n}", MediaKind.VIDEO, "botapi"))
        if self.lose_answer:
            raise UnconfirmedDeliveryError("botapi", "answer lost")
        return sent

    async def resend_album(
        self,
        chat_id: int,
        items: list[Resent],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[Uploaded]:
        raise AssertionError("albums go one by one through the ledger")

    async def deliver(self, delivery: Delivery, progress: ProgressFn) -> Uploaded:
        await self._last_byte(delivery, progress)
        if self.after_fence is not None:
            await self.after_fence.wait()
        self.sent.append(delivery.filename)
        if self.lose_answer:
            raise UnconfirmedDeliveryError("botapi", "answer lost")
        return Uploaded(len(self.sent), f"file-{len(self.sent)}", MediaKind.DOCUMENT, "botapi")

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
        self.sent.append(file_id)
        return Uploaded(len(self.sent), file_id, kind, "botapi")

    async def _last_byte(self, delivery: Delivery, progress: ProgressFn) -> None:
        progress(SIZE, SIZE)  # every byte read, the last one held
        self.reached.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.refuse:
            raise DeliveryError(FailureReason.UPLOAD_FAILED, "Bad Request: no")
        assert delivery.fence is not None
        await delivery.fence()
        self.fenced.set()


@pytest.fixture
async def client(redis: RedisServer) -> AsyncIterator[Redis]:
    redis_client = quick_client(SecretStr(redis.url))
    try:
        yield redis_client
    finally:
        await redis_client.aclose()


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "CLAIM_POLL_S", 0.05)


def attempt(client: Redis, n: int) -> Ledger:
    return Ledger(client, JOB, f"worker-{n}:{n}", TUNING)


class Watched(Ledger):
    """An attempt that says when it has looked at a part it does not hold yet."""

    def __init__(self, client: Redis, n: int) -> None:
        super().__init__(client, JOB, f"worker-{n}:{n}", TUNING)
        self.looked = asyncio.Event()

    async def _known(self, part: int, answer: Any, *, claimed: bool) -> Any:
        found = await super()._known(part, answer, claimed=claimed)
        if not claimed:
            self.looked.set()
        return found


def delivery(tmp_path: Path, name: str = "part.bin") -> Delivery:
    return Delivery(6, tmp_path / name, name, "caption", SIZE, MediaInfo(MediaKind.DOCUMENT))


def nothing(_done: int, _total: int) -> None:
    return None


async def test_a_part_delivered_by_an_earlier_attempt_is_not_sent_again(
    client: Redis, tmp_path: Path
) -> None:
    telegram = Telegram()
    first = await LedgerDeliverer(telegram, attempt(client, 1)).deliver(
        delivery(tmp_path), nothing
    )
    again = await LedgerDeliverer(telegram, attempt(client, 2)).deliver(
        delivery(tmp_path), nothing
    )
    assert telegram.sent == ["part.bin"]
    assert again == first  # the pipeline records the same file_id


async def test_an_album_is_one_part_and_an_attempt_again_takes_its_answers(
    client: Redis, tmp_path: Path
) -> None:
    telegram = Telegram()
    files = [delivery(tmp_path, name) for name in ("a", "b", "c")]
    first = await LedgerDeliverer(telegram, attempt(client, 1)).send_album(files, nothing)
    rerun = LedgerDeliverer(telegram, attempt(client, 2))
    again = await rerun.send_album(files, nothing)
    after = await rerun.deliver(delivery(tmp_path, "d"), nothing)  # part 2: sent
    assert telegram.sent == ["a", "b", "c", "d"]  # the album once
    assert again == first  # all three answers, as the first attempt had them
    assert after.file_id == "file-4"


async def test_parts_are_numbered_in_the_order_a_run_sends_them(
    client: Redis, tmp_path: Path
) -> None:
    telegram = Telegram()
    run = LedgerDeliverer(telegram, attempt(client, 1))
    await run.deliver(delivery(tmp_path, "a"), nothing)
    # The worker dies before part 2: the next attempt sends part 2 only.
    rerun = LedgerDeliverer(telegram, attempt(client, 2))
    await rerun.deliver(delivery(tmp_path, "a"), nothing)
    await rerun.deliver(delivery(tmp_path, "b"), nothing)
    resent = await rerun.resend(6, MediaKind.VIDEO, "file-9", "caption")  # part 3, by file_id
    assert telegram.sent == ["a", "b", "file-9"]
    assert resent.file_id == "file-9"


async def test_the_fence_marks_the_part_gone_out_and_a_stop_then_does_not_undo_it(
    client: Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.remote.claim")
    telegram = Telegram()
    telegram.after_fence = asyncio.Event()
    sending = asyncio.create_task(
        LedgerDeliverer(telegram, attempt(client, 1)).deliver(delivery(tmp_path), nothing)
    )
    await telegram.fenced.wait()  # the fence passed: the last byte went out
    assert await reply(client.hget(f"tgfetch:ledger:{JOB}", "out:1")) is not None
    sending.cancel()  # a stop (Cancel, a restart) while Telegram has the whole file
    await asyncio.sleep(0)  # the stop reaches the send, which waits on
    assert "claim_send_finishing" in caplog.text
    telegram.after_fence.set()
    sent = await sending  # delivered, not cancelled: the pipeline records it
    assert sent.file_id == "file-1"
    ledger = await reply(client.hgetall(f"tgfetch:ledger:{JOB}"))
    assert b"part:1" in ledger and b"out:1" not in ledger


async def test_a_part_gone_out_unanswered_is_never_sent_again(
    client: Redis, tmp_path: Path
) -> None:
    # An attempt whose fence passed died before Telegram's answer came.
    await reply(client.hset(f"tgfetch:ledger:{JOB}", "out:1", "dead:1"))
    telegram = Telegram()
    with pytest.raises(UnconfirmedDeliveryError):
        await LedgerDeliverer(telegram, attempt(client, 2)).deliver(delivery(tmp_path), nothing)
    assert telegram.sent == []


async def test_an_answer_lost_is_not_sent_again_either(client: Redis, tmp_path: Path) -> None:
    telegram = Telegram()
    telegram.lose_answer = True
    with pytest.raises(UnconfirmedDeliveryError):
        await LedgerDeliverer(telegram, attempt(client, 1)).deliver(delivery(tmp_path), nothing)
    with pytest.raises(UnconfirmedDeliveryError):
        await LedgerDeliverer(telegram, attempt(client, 2)).deliver(delivery(tmp_path), nothing)
    assert telegram.sent == ["part.bin"]


async def test_a_refused_part_is_sent_by_the_next_attempt(client: Redis, tmp_path: Path) -> None:
    telegram = Telegram()
    telegram.refuse = True
    with pytest.raises(DeliveryError):
        await LedgerDeliverer(telegram, attempt(client, 1)).deliver(delivery(tmp_path), nothing)
    telegram.refuse = False
    await LedgerDeliverer(telegram, attempt(client, 2)).deliver(delivery(tmp_path), nothing)
    assert telegram.sent == ["part.bin"]


async def test_a_second_attempt_waits_for_the_one_sending_and_takes_its_answer(
    client: Redis, tmp_path: Path
) -> None:
    telegram = Telegram()
    telegram.hold = asyncio.Event()
    first = asyncio.create_task(
        LedgerDeliverer(telegram, attempt(client, 1)).deliver(delivery(tmp_path), nothing)
    )
    await telegram.reached.wait()
    watched = Watched(client, 2)
    second = asyncio.create_task(
        LedgerDeliverer(telegram, watched).deliver(delivery(tmp_path), nothing)
    )
    await watched.looked.wait()  # it found the part claimed, not delivered: it waits
    telegram.hold.set()
    assert await second == await first
    assert telegram.sent == ["part.bin"]


async def test_a_claim_that_lapsed_before_anything_went_out_is_taken_over(
    client: Redis, tmp_path: Path
) -> None:
    # An attempt that claimed part 1 and died before sending a byte.
    await client.set(f"tgfetch:claim:{JOB}:1", "dead:1", px=200)
    telegram = Telegram()
    await LedgerDeliverer(telegram, attempt(client, 2)).deliver(delivery(tmp_path), nothing)
    assert telegram.sent == ["part.bin"]


async def test_the_ledger_remembers_the_choice(client: Redis) -> None:
    first = attempt(client, 1)
    assert await first.recall() is None
    await first.remember_choice(FormatChoice.AUDIO)
    assert await attempt(client, 2).recall() is FormatChoice.AUDIO


async def test_the_last_byte_waits_for_the_claim_and_a_worker_cut_off_never_sends_it(
    client: Redis, redis: RedisServer, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    async with FreezeProxy("127.0.0.1", redis.port) as proxy:
        cut_off = quick_client(SecretStr(proxy.url))
        telegram = Telegram()
        telegram.hold = asyncio.Event()
        sending = asyncio.create_task(
            LedgerDeliverer(telegram, Ledger(cut_off, JOB, "cut:1", TUNING)).deliver(
                delivery(tmp_path), lambda done, total: seen.append((done, total))
            )
        )
        await telegram.reached.wait()  # claimed, every byte but the last one out
        proxy.freeze()
        telegram.hold.set()  # its last byte waits for a renewal that cannot come
        with pytest.raises(ClaimLostError):
            await sending
        proxy.thaw()
        await cut_off.aclose()
    assert telegram.sent == []
    assert seen == [(SIZE - 1, SIZE)]  # the pipeline never counted it handed over
    assert await reply(client.hget(f"tgfetch:ledger:{JOB}", "out:1")) is None
    # Once its lease lapses the next attempt sends the part, once.
    await LedgerDeliverer(telegram, attempt(client, 2)).deliver(delivery(tmp_path), nothing)
    assert telegram.sent == ["part.bin"]


async def test_a_claim_taken_by_another_attempt_stops_the_send_before_its_last_byte(
    client: Redis, tmp_path: Path
) -> None:
    telegram = Telegram()
    telegram.hold = asyncio.Event()
    sending = asyncio.create_task(
        LedgerDeliverer(telegram, attempt(client, 1)).deliver(delivery(tmp_path), nothing)
    )
    await telegram.reached.wait()
    await client.set(f"tgfetch:claim:{JOB}:1", "thief:9", px=60_000)
    with pytest.raises(ClaimLostError):
        await sending  # at its next renewal, within a second
    assert telegram.sent == []
