"""When and how long to retry a Bot API call: 429 waits as told, 5xx and network errors wait."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class TransientError(Exception):
    """A network failure worth retrying (the wrapped request never got an answer)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for retries: attempts in all, the backoff curve, the longest flood wait accepted."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 300.0

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
    what: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[int, bytes]:
    """Run `call` until it answers something final; returns the last (status, body).

    `call` raises TransientError for network failures; after the last attempt that error
    propagates. A 429 or 5xx answer after the last attempt is returned as it is, so the
    caller reports Telegram's own error.
    """
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        try:
            status, body = await call()
        except TransientError as exc:
            if last:
                raise
            delay = policy.backoff(attempt)
            log.warning("bot_api_retry method=%s error=%r wait=%.1f", what, exc, delay)
            await sleep(delay)
            continue
        if status == 429:
            wait = retry_after_of(body)
            if last or wait is None or wait > policy.max_retry_after:
                return status, body
            log.warning("bot_api_flood method=%s retry_after=%.0f", what, wait)
            await sleep(wait + 0.1)
            continue
        if status >= 500 and not last:
            delay = policy.backoff(attempt)
            log.warning("bot_api_retry method=%s status=%d wait=%.1f", what, status, delay)
            await sleep(delay)
            continue
        return status, body
    raise AssertionError("unreachable")  # pragma: no cover
