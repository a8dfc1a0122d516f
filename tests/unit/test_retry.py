"""Retrying Bot API calls: floods wait as told, 5xx back off, everything is bounded, and a call
whose answer was lost is repeated only when repeating it cannot do anything twice."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from bot.telegram_io.failures import (
    AnswerLostError,
    Sent,
    idempotent,
    sent_of_error,
    sent_of_status,
)
from bot.telegram_io.retry import RetryPolicy, TransientError, with_retries

FLOOD = json.dumps({"ok": False, "error_code": 429, "parameters": {"retry_after": 7}}).encode()
OK = b'{"ok": true, "result": true}'
SERVER_ERROR = b'{"ok": false, "error_code": 500, "description": "Internal Server Error"}'
NOT_SENT = TransientError("connection refused", Sent.NO)
LOST = TransientError("server disconnected", Sent.UNKNOWN)


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


async def test_server_errors_and_refused_connections_back_off_then_succeed() -> None:
    s = Script((502, b"<html>"), NOT_SENT, (500, SERVER_ERROR), (200, OK))
    assert await with_retries(s.call, RetryPolicy(base_delay=1), "sendMessage", s.sleep) == (
        200,
        OK,
    )
    assert len(s.sleeps) == 3
    assert all(0 < d <= 20 for d in s.sleeps)


async def test_bounded_attempts_return_the_last_answer() -> None:
    s = Script(*[(500, SERVER_ERROR)] * 3)
    assert await with_retries(s.call, RetryPolicy(attempts=3), "x", s.sleep) == (500, SERVER_ERROR)
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
    s = Script(NOT_SENT, NOT_SENT)
    with pytest.raises(TransientError):
        await with_retries(s.call, RetryPolicy(attempts=2), "sendMessage", s.sleep)


@pytest.mark.parametrize("method", ["sendMessage", "sendDocument", "sendVideo", "copyMessage"])
async def test_a_send_whose_answer_was_lost_is_never_repeated(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = Script(LOST, (200, OK))
    with caplog.at_level(logging.WARNING), pytest.raises(AnswerLostError) as info:
        await with_retries(s.call, RetryPolicy(), method, s.sleep)
    assert s.calls == 1
    assert info.value.method == method
    assert isinstance(info.value, NetworkError)  # what PTB's callers already catch
    assert f"bot_api_answer_unknown method={method} choice=not_retried" in caplog.text


@pytest.mark.parametrize(
    "method", ["getUpdates", "getMe", "editMessageText", "deleteMessage", "setMyCommands"]
)
async def test_an_idempotent_call_whose_answer_was_lost_is_repeated(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = Script(LOST, (200, OK))
    with caplog.at_level(logging.WARNING):
        assert await with_retries(s.call, RetryPolicy(), method, s.sleep) == (200, OK)
    assert s.calls == 2
    assert f"bot_api_answer_unknown method={method} choice=retry" in caplog.text


async def test_a_gateway_timeout_is_unknown_for_a_send() -> None:
    s = Script((504, b"<html>Gateway Time-out</html>"), (200, OK))
    with pytest.raises(AnswerLostError):
        await with_retries(s.call, RetryPolicy(), "sendDocument", s.sleep)
    assert s.calls == 1
    t = Script((504, b""), (200, OK))
    assert await with_retries(t.call, RetryPolicy(), "editMessageText", t.sleep) == (200, OK)


def test_errors_before_the_request_went_out_are_not_sent() -> None:
    request = httpx.Request("POST", "https://api.telegram.org/botX/sendMessage")
    for error in (
        httpx.ConnectError("refused", request=request),
        httpx.ConnectTimeout("dns", request=request),
        httpx.PoolTimeout("pool", request=request),
        httpx.WriteError("broken pipe", request=request),
        httpx.WriteTimeout("slow", request=request),
        httpx.ProxyError("proxy refused"),
    ):
        assert sent_of_error(error) is Sent.NO, error
        wrapped = TimedOut("timed out")
        wrapped.__cause__ = error  # as PTB raises it: `raise TimedOut from err`
        assert sent_of_error(wrapped) is Sent.NO, error


def test_errors_after_the_request_went_out_are_unknown() -> None:
    request = httpx.Request("POST", "https://api.telegram.org/botX/sendDocument")
    for error in (
        httpx.ReadTimeout("no answer", request=request),
        httpx.ReadError("reset", request=request),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        NetworkError("Unknown error in HTTP implementation"),
    ):
        assert sent_of_error(error) is Sent.UNKNOWN, error


def test_answers_say_whether_telegram_did_it() -> None:
    assert sent_of_status(429, FLOOD) is Sent.NO
    assert sent_of_status(400, b'{"ok":false}') is Sent.NO
    assert sent_of_status(500, SERVER_ERROR) is Sent.NO
    assert sent_of_status(502, b"<html>Bad Gateway</html>") is Sent.NO
    assert sent_of_status(502, b"") is Sent.UNKNOWN
    assert sent_of_status(504, b"<html>") is Sent.UNKNOWN


def test_sends_are_not_idempotent_and_edits_are() -> None:
    assert not idempotent("sendMessage")
    assert not idempotent("sendDocument")
    assert not idempotent("copyMessage")  # anything not known to be safe is a send
    assert idempotent("editMessageText")
    assert idempotent("getupdates")  # any spelling, as the URL has it
