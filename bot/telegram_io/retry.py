"""When and how long to retry a Bot API call: 429 waits as told, 5xx and network errors wait,
and a call whose answer was lost is repeated only if repeating it cannot do anything twice."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.telegram_io.answers import retried
from bot.telegram_io.failures import AnswerLostError, Sent, idempotent, sent_of_status

log = logging.getLogger(__name__)


class TransientError(Exception):
    """A request that got no answer; `sent` says whether Telegram may have performed it."""

    def __init__(self, message: str, sent: Sent = Sent.UNKNOWN) -> None:
        super().__init__(message)
        self.sent = sent


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for retries: attempts in all, the backoff curve, the longest flood wait accepted."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 300.0
    # False: a 429 is answered to the caller at once, for the outbound path (outbound.py) to
    # pause the chat or the whole bot and give the call its turn again.
    flood_waits: bool = True

    def backoff(self, attempt: int) -> float:
        delay = min(self.max_delay, self.base_delay * (2.0**attempt))
        jitter: float = 0.5 + random.random() / 2  # noqa: S311 - jitter, not crypto
        return delay * jitter


def retry_after_of(payload: bytes) -> float | None:
    """The `parameters.retry_after` of a Telegram error body, if it has one."""
    try:
        data = json.loads(payload)
        return float(data["parameters"]["retry_after"])
    except (ValueError, KeyError, TypeError):
        return None


async def with_retries(
    call: Callable[[], Awaitable[tuple[int, bytes]]],
    policy: RetryPolicy,
    method: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[int, bytes]:
    """Run `call` (one request of the Bot API `method`) until it answers something final.

    `call` raises TransientError when no answer came. A not-sent failure is retried; an
    unknown one (the answer lost after the request went out) is retried only for idempotent
    methods, otherwise AnswerLostError is raised at once, never a second request. After the
    last attempt a TransientError propagates, and a 429 or 5xx answer is returned as it is,
    so the caller reports Telegram's own error.
    """
    repeatable = idempotent(method)
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        if attempt:
            retried()  # a call sent again costs what a call costs (answers.py)
        try:
            status, body = await call()
        except TransientError as exc:
            if exc.sent is Sent.UNKNOWN:
                _log_unknown(method, str(exc), repeatable and not last)
                if not repeatable:
                    raise AnswerLostError(method, str(exc)) from exc
            if last:
                raise
            delay = policy.backoff(attempt)
            log.warning("bot_api_retry method=%s error=%s wait=%.1f", method, exc, delay)
            await sleep(delay)
            continue
        if status == 429:
            wait = retry_after_of(body)
            if last or wait is None or wait > policy.max_retry_after or not policy.flood_waits:
                return status, body
            log.warning("bot_api_flood method=%s retry_after=%.0f", method, wait)
            await sleep(wait + 0.1)
            continue
        if status >= 500:
            if sent_of_status(status, body) is Sent.UNKNOWN:
                _log_unknown(method, f"HTTP {status}", repeatable and not last)
                if not repeatable:
                    raise AnswerLostError(method, f"HTTP {status}")
            if not last:
                delay = policy.backoff(attempt)
                log.warning("bot_api_retry method=%s status=%d wait=%.1f", method, status, delay)
                await sleep(delay)
                continue
        return status, body
    raise AssertionError("unreachable")  # pragma: no cover


def _log_unknown(method: str, error: str, retry: bool) -> None:
    choice = "retry" if retry else "not_retried"
    log.warning("bot_api_answer_unknown method=%s choice=%s error=%s", method, choice, error)
