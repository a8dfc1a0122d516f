"""The outbound path: who goes first, what a slot keeps, and what a 429 pauses."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from telegram.error import NetworkError, RetryAfter

from bot.telegram_io.lanes import Dropped, Priority
from bot.telegram_io.outbound import Outbound, chat_of
from bot.telegram_io.pacing import Pace, Rate

# Fast buckets: these tests are about order and scope, not Telegram's numbers.
FAST = Pace(bot=Rate(100.0, 1e9), private=Rate(100.0, 1e9), status_bot_share=0.0)


@pytest.fixture(autouse=True)
def _timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # As the daemon does (launch.py): PTB 22 otherwise warns on every RetryAfter it builds.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def flood(seconds: float) -> RetryAfter:
    return RetryAfter(dt.timedelta(seconds=seconds))


class Chat:
    """Records each call's (chat, label, time) as it is made."""

    def __init__(self) -> None:
        self.made: list[tuple[int, str, float]] = []

    def call(self, chat: int, label: str) -> Callable[[], Awaitable[str]]:
        async def made() -> str:
            self.made.append((chat, label, time.monotonic()))
            return label

        return made

    def labels(self) -> list[str]:
        return [label for _, label, _ in self.made]


async def hold(outbound: Outbound, chat: int) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """A call into `chat` that stays on its way until the event is set: the chat is busy."""
    release, begun = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        begun.set()
        await release.wait()

    task = asyncio.create_task(outbound.call(chat, Priority.ANSWER, slow))
    await begun.wait()
    return release, task


async def test_answers_go_before_questions_before_status_in_one_chat() -> None:
    outbound, chat = Outbound(FAST), Chat()
    release, held = await hold(outbound, 1)
    calls = [
        asyncio.create_task(outbound.call(1, priority, chat.call(1, priority.name)))
        for priority in (Priority.STATUS, Priority.QUESTION, Priority.ANSWER, Priority.STATUS)
    ]
    await asyncio.sleep(0)  # all four wait for the chat
    release.set()
    await asyncio.gather(held, *calls)
    assert chat.labels() == ["ANSWER", "QUESTION", "STATUS", "STATUS"]


async def test_a_call_waiting_for_its_chat_does_not_hold_up_another_chat() -> None:
    outbound, chat = Outbound(FAST), Chat()
    release, held = await hold(outbound, 1)
    waiting = asyncio.create_task(outbound.call(1, Priority.ANSWER, chat.call(1, "first chat")))
    assert await outbound.call(2, Priority.STATUS, chat.call(2, "other")) == "other"
    assert chat.labels() == ["other"]
    release.set()
    await asyncio.gather(held, waiting)
    assert chat.labels() == ["other", "first chat"]


async def test_uploads_do_not_hold_their_chat() -> None:
    outbound, chat = Outbound(FAST), Chat()
    release, begun = asyncio.Event(), asyncio.Event()

    async def upload() -> None:
        begun.set()
        await release.wait()

    uploading = asyncio.create_task(outbound.call(1, Priority.ANSWER, upload, upload=True))
    await begun.wait()
    # The progress edit goes while the file is on its way.
    assert await outbound.call(1, Priority.STATUS, chat.call(1, "progress")) == "progress"
    release.set()
    await uploading


async def test_a_newer_call_of_a_slot_takes_the_older_ones_place() -> None:
    outbound, chat = Outbound(FAST), Chat()
    release, held = await hold(outbound, 1)
    first = asyncio.create_task(
        outbound.call(1, Priority.STATUS, chat.call(1, "10%"), slot=("status", 7))
    )
    other = asyncio.create_task(outbound.call(1, Priority.STATUS, chat.call(1, "job 8")))
    await asyncio.sleep(0)
    newer = asyncio.create_task(
        outbound.call(1, Priority.STATUS, chat.call(1, "20%"), slot=("status", 7))
    )
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(held, newer, other)
    with pytest.raises(Dropped):
        await first
    assert chat.labels() == ["20%", "job 8"]  # never "10%"; in the older one's place
    assert outbound.stats.dropped == 1


async def test_drop_forgets_the_call_of_a_slot() -> None:
    outbound, chat = Outbound(FAST), Chat()
    release, held = await hold(outbound, 1)
    pending = asyncio.create_task(
        outbound.call(1, Priority.STATUS, chat.call(1, "stale"), slot=("status", 7))
    )
    await asyncio.sleep(0)
    outbound.drop(("status", 7))  # the file went first
    release.set()
    await held
    with pytest.raises(Dropped):
        await pending
    assert chat.labels() == []


async def test_a_cancelled_wait_leaves_the_line_and_the_chat_free() -> None:
    outbound, chat = Outbound(FAST), Chat()
    release, held = await hold(outbound, 1)
    given_up = asyncio.create_task(outbound.call(1, Priority.ANSWER, chat.call(1, "late")))
    await asyncio.sleep(0)
    given_up.cancel()  # as the gate's 5 s deadline on a refusal does
    with pytest.raises(asyncio.CancelledError):
        await given_up
    release.set()
    await held
    assert await outbound.call(1, Priority.ANSWER, chat.call(1, "next")) == "next"
    assert chat.labels() == ["next"]


async def test_a_429_pauses_its_chat_and_the_call_goes_again_after_it() -> None:
    outbound, chat = Outbound(FAST), Chat()
    floods, tried = [flood(0.2)], asyncio.Event()

    async def flooded() -> str:
        chat.made.append((1, "try", time.monotonic()))
        tried.set()
        if floods:
            raise floods.pop()
        return "sent"

    first = asyncio.create_task(outbound.call(1, Priority.ANSWER, flooded))
    await tried.wait()
    paused_at = chat.made[0][2]
    same_chat = asyncio.create_task(outbound.call(1, Priority.ANSWER, chat.call(1, "after")))
    # Another chat is not paused by a flood of one chat.
    assert await outbound.call(2, Priority.ANSWER, chat.call(2, "elsewhere")) == "elsewhere"
    assert await first == "sent"
    await same_chat
    into_chat = [at for who, label, at in chat.made if who == 1 and at > paused_at]
    assert into_chat and min(into_chat) >= paused_at + 0.2  # nothing inside the retry_after
    assert outbound.stats.floods == {"chat": 1}


async def test_floods_in_two_chats_at_once_pause_the_whole_bot() -> None:
    outbound, chat = Outbound(FAST), Chat()
    pending = {1: [flood(0.3)], 2: [flood(0.3)]}

    def flooded(who: int) -> Callable[[], Awaitable[str]]:
        async def call() -> str:
            chat.made.append((who, "try", time.monotonic()))
            if pending[who]:
                raise pending[who].pop()
            return "sent"

        return call

    await asyncio.gather(
        *(outbound.call(who, Priority.ANSWER, flooded(who)) for who in (1, 2)),
    )
    second_flood = max(at for _, _, at in chat.made[:2])
    assert await outbound.call(3, Priority.ANSWER, chat.call(3, "third")) == "third"
    [third] = [at for who, _, at in chat.made if who == 3]
    assert third >= second_flood + 0.3
    assert outbound.stats.floods["bot"] == 1


async def test_a_call_that_cannot_be_repeated_hears_the_429_and_still_pauses_the_chat() -> None:
    outbound, chat = Outbound(FAST), Chat()

    async def stream() -> str:
        raise flood(0.2)

    with pytest.raises(RetryAfter):
        await outbound.call(1, Priority.ANSWER, stream, upload=True, repeat=False)
    began = time.monotonic()
    await outbound.call(1, Priority.ANSWER, chat.call(1, "ordinary"))
    assert chat.made[0][2] >= began + 0.1  # waited out (most of) the pause


async def test_a_call_flooded_too_often_is_given_up() -> None:
    outbound = Outbound(Pace(bot=FAST.bot, private=FAST.private, max_floods=2))
    tries = 0

    async def always() -> None:
        nonlocal tries
        tries += 1
        raise flood(0.01)

    with pytest.raises(RetryAfter):
        await outbound.call(1, Priority.ANSWER, always)
    assert tries == 2


async def test_ptb_calls_inside_a_turn_go_at_once_and_others_take_a_turn() -> None:
    outbound, seen = Outbound(FAST), []

    async def callback(endpoint: str, data: dict[str, Any]) -> bool:
        seen.append(endpoint)
        return True

    async def two_calls() -> None:  # an edit that found its message gone, then a send
        for endpoint in ("editMessageText", "sendMessage"):
            await outbound.process_request(
                callback, (endpoint, {}), {}, endpoint, {"chat_id": 1}, None
            )

    await outbound.call(1, Priority.STATUS, two_calls)
    # Outside any turn: a turn of its own (a chat action as status); no chat: not paced.
    await outbound.process_request(
        callback, ("sendChatAction", {}), {}, "sendChatAction", {"chat_id": 1}, None
    )
    await outbound.process_request(callback, ("getMe", {}), {}, "getMe", {}, None)
    assert seen == ["editMessageText", "sendMessage", "sendChatAction", "getMe"]


async def test_close_fails_the_calls_still_waiting() -> None:
    outbound, chat = Outbound(FAST), Chat()
    release, held = await hold(outbound, 1)
    waiting = asyncio.create_task(outbound.call(1, Priority.ANSWER, chat.call(1, "never")))
    await asyncio.sleep(0)
    await outbound.close()
    with pytest.raises(NetworkError):
        await waiting
    release.set()
    await held
    assert chat.labels() == []


def test_chat_of_reads_ids_and_usernames() -> None:
    assert chat_of({"chat_id": 5}) == 5
    assert chat_of({"chat_id": "-1001"}) == -1001
    assert chat_of({"chat_id": "@channel"}) == "@channel"
    assert chat_of({}) is None


async def test_status_waits_while_answers_flow_fast() -> None:
    pace = Pace(bot=FAST.bot, private=FAST.private, status_bot_share=0.0, status_answers_per_s=2)
    outbound, chat = Outbound(pace), Chat()
    await outbound.call(1, Priority.ANSWER, chat.call(1, "file 1"))
    await outbound.call(2, Priority.ANSWER, chat.call(2, "file 2"))
    # Two answers within a second: a queue moving that fast gets no position message...
    await outbound.call(3, Priority.STATUS, chat.call(3, "position"))
    first, status = chat.made[0][2], chat.made[-1][2]
    assert status >= first + 1.0  # ...until the answers have slowed down
    assert chat.labels() == ["file 1", "file 2", "position"]


async def test_a_waiter_cancelled_as_its_turn_comes_leaves_the_chat_free() -> None:
    # The moment between a waiting task's cancel() and its handling of it: its place in line
    # is already a cancelled future. The dispatcher once granted it anyway (InvalidStateError),
    # leaving the chat taken for good (a soak's link was never answered).
    outbound, chat = Outbound(FAST), Chat()
    release, held = await hold(outbound, 1)
    waiting = asyncio.create_task(outbound.call(1, Priority.ANSWER, chat.call(1, "never")))
    await asyncio.sleep(0)
    [entry] = outbound._turns._pending
    release.set()
    await asyncio.sleep(0)  # the held call ends; the dispatcher is woken to grant the next
    entry.future.cancel()  # and the waiter is cancelled before it runs
    await held
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with asyncio.timeout(10):  # the old fault: the chat was never free again
        assert await outbound.call(1, Priority.ANSWER, chat.call(1, "next")) == "next"


async def test_a_call_beside_an_upload_waits_for_a_full_bucket() -> None:
    # Telegram counts an upload when its last byte has arrived: a call into its chat meanwhile
    # goes only into a full bucket, so that one is left for the upload even if Telegram
    # counted a call more than the bot did (a 429 then would have the upload arrive inside it).
    outbound, chat = Outbound(Pace(bot=FAST.bot, private=Rate(2.0, 5.0))), Chat()
    await outbound.call(1, Priority.ANSWER, chat.call(1, "reply before"))  # the bucket: 1 of 2
    begun, release = asyncio.Event(), asyncio.Event()

    async def upload() -> None:
        begun.set()
        await release.wait()

    uploading = asyncio.create_task(outbound.call(1, Priority.ANSWER, upload, upload=True))
    await begun.wait()
    began = time.monotonic()
    await outbound.call(1, Priority.ANSWER, chat.call(1, "reply beside"))
    assert chat.made[-1][2] >= began + 0.15  # it waited for the bucket to refill (0.2 s)
    release.set()
    await uploading
