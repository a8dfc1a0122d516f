"""The job's stop signal: first reason wins, callbacks reach blocked work, the deadline counts."""

from __future__ import annotations

import pytest

from bot.download.cancel import CancelToken, StoppedError, StopReason


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_reason_wins_and_callbacks_run_once() -> None:
    token, calls = CancelToken(), []
    token.on_stop(lambda: calls.append("a"))
    forgotten = token.on_stop(lambda: calls.append("never"))
    forgotten()
    token.cancel(StopReason.SHUTDOWN)
    token.cancel(StopReason.CANCELLED)
    assert token.reason is StopReason.SHUTDOWN
    assert calls == ["a"]
    token.on_stop(lambda: calls.append("late"))  # already stopped: runs at once
    assert calls == ["a", "late"]


def test_a_failing_callback_does_not_keep_the_others_from_running() -> None:
    token, calls = CancelToken(), []

    def broken() -> None:
        raise OSError("socket already closed")

    token.on_stop(broken)
    token.on_stop(lambda: calls.append("b"))
    token.cancel()
    assert calls == ["b"]


def test_past_its_deadline_the_token_is_a_timeout_stopped_at_the_deadline() -> None:
    clock = Clock()
    token, calls = CancelToken(clock), []
    token.expire_in(5)
    token.on_stop(lambda: calls.append("stopped"))
    clock.now = 104.9
    token.check()
    clock.now = 107.0  # noticed two seconds late, by whoever looked first
    assert token.cancelled
    assert token.reason is StopReason.TIMEOUT
    assert token.stopped_at == 105.0
    assert calls == ["stopped"]
    with pytest.raises(StoppedError) as caught:
        token.check()
    assert caught.value.reason is StopReason.TIMEOUT
