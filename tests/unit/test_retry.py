"""Retrying Bot API calls: floods wait as told, 5xx back off, everything is bounded."""

from __future__ import annotations

import json

import pytest

from bot.telegram_io.retry import RetryPolicy, TransientError, with_retries

FLOOD = json.dumps({"ok": False, "error_code": 429, "parameters": {"retry_after": 7}}).encode()
OK = b'{"ok": true, "result": true}'


class Script:
    """Answers from a list, recording the sleeps the retry loop asks for."""

    def __init__(self, *answers: tuple[int, bytes] | Exception) -> None:
        self.answers = list(answers)
        self.sleeps: list[float] = []
        self.calls = 0

    async def call(self) -> tuple[int, bytes]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def test_flood_waits_retry_after() -> None:
    s = Script((429, FLOOD), (200, OK))
    assert await with_retries(s.call, RetryPolicy(), "sendMessage", s.sleep) == (200, OK)
    assert s.sleeps == [pytest.approx(7.1)]


async def test_server_errors_and_network_back_off_then_succeed() -> None:
    s = Script((502, b"<html>"), TransientError("reset"), (500, b"{}"), (200, OK))
    assert await with_retries(s.call, RetryPolicy(base_delay=1), "x", s.sleep) == (200, OK)
    assert len(s.sleeps) == 3
    assert all(0 < d <= 20 for d in s.sleeps)


async def test_bounded_attempts_return_the_last_answer() -> None:
    s = Script(*[(500, b"{}")] * 3)
    assert await with_retries(s.call, RetryPolicy(attempts=3), "x", s.sleep) == (500, b"{}")
    assert s.calls == 3


async def test_bad_request_is_not_retried() -> None:
    s = Script((400, b'{"ok":false}'))
    assert (await with_retries(s.call, RetryPolicy(), "x", s.sleep))[0] == 400
    assert s.calls == 1


async def test_absurd_flood_wait_is_not_slept() -> None:
    huge = json.dumps({"ok": False, "parameters": {"retry_after": 86400}}).encode()
    s = Script((429, huge))
    assert (await with_retries(s.call, RetryPolicy(), "x", s.sleep))[0] == 429
    assert s.sleeps == []


async def test_network_failure_on_last_attempt_raises() -> None:
    s = Script(TransientError("a"), TransientError("b"))
    with pytest.raises(TransientError):
        await with_retries(s.call, RetryPolicy(attempts=2), "x", s.sleep)
