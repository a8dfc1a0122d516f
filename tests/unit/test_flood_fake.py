"""The fake Bot API's flood control (tests/fakes/flood.py): Telegram's buckets, 429 with
retry_after by scope, and calls into a running retry_after counted as violations."""

from __future__ import annotations

from tests.fakes.flood import FloodControl, FloodRules


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def retry_after(control: FloodControl, chat: int | str, method: str = "sendMessage") -> int | None:
    error = control.check(method, {"chat_id": chat})
    return None if error is None else error.retry_after


def test_a_private_chat_takes_three_at_once_then_one_a_second() -> None:
    clock = Clock()
    control = FloodControl(FloodRules(), clock)
    assert [retry_after(control, 1) for _ in range(3)] == [None, None, None]
    assert retry_after(control, 1) == 1  # the fourth: 429, retry after 1 s
    assert retry_after(control, 2) is None  # another chat is not limited
    clock.now += 1.0
    assert retry_after(control, 1) is None
    assert control.limited == {"chat": 1}
    assert control.violations == []


def test_a_call_inside_a_running_retry_after_is_a_violation() -> None:
    clock = Clock()
    control = FloodControl(FloodRules(), clock)
    for _ in range(3):
        retry_after(control, 1, "editMessageText")  # edits count like messages
    assert retry_after(control, 1) == 1
    clock.now += 0.5
    assert retry_after(control, 1) == 1  # too early: answered 429 again, and counted
    [violation] = control.violations
    assert (violation.chat_id, violation.scope) == (1, "chat")


def test_the_whole_bot_is_limited_to_thirty_a_second() -> None:
    clock = Clock()
    control = FloodControl(FloodRules(), clock)
    assert all(retry_after(control, chat) is None for chat in range(30))
    assert retry_after(control, 31) == 1
    assert retry_after(control, 32) == 1  # any chat while the bot's window runs: a violation
    assert [v.scope for v in control.violations] == ["bot"]
    clock.now += 1.0
    assert retry_after(control, 33) is None


def test_a_group_takes_twenty_a_minute_and_calls_without_a_chat_are_free() -> None:
    clock = Clock()
    control = FloodControl(FloodRules(), clock)
    for _ in range(20):
        assert retry_after(control, -100) is None
        clock.now += 0.1
    assert retry_after(control, -100) == 1  # 20/min refills a call every 3 s
    assert control.check("answerCallbackQuery", {"callback_query_id": "1"}) is None
    assert control.check("getChat", {"chat_id": 1}) is None
    control.reset()
    assert retry_after(control, -100) is None
