"""Fault injection for the fake Bot API: queued failures, random failures, slow methods."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable

from tests.fakes.errors import ApiError


class Faults:
    """Decides which calls fail and how; consulted once per call, before the method runs."""

    def __init__(self) -> None:
        self._queued: dict[str, deque[ApiError]] = {}
        self._ratio = 0.0
        self._statuses: tuple[int, ...] = ()
        self._methods: frozenset[str] | None = None
        self._retry_after = 1
        self._rng = random.Random(0)
        self._slow: dict[str, float] = {}

    def fail_next(
        self,
        method: str,
        status: int,
        count: int = 1,
        *,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Queue `count` failures for the next calls of `method`."""
        queue = self._queued.setdefault(method.lower(), deque())
        for _ in range(count):
            queue.append(ApiError(status, description, retry_after=retry_after))

    def fail_ratio(
        self,
        ratio: float,
        statuses: Iterable[int],
        *,
        seed: int,
        methods: Iterable[str] | None,
        retry_after: int,
    ) -> None:
        """Fail a seeded-random fraction of calls (getUpdates only when named in `methods`)."""
        self._ratio = ratio
        self._statuses = tuple(statuses)
        self._methods = None if methods is None else frozenset(m.lower() for m in methods)
        self._retry_after = retry_after
        self._rng = random.Random(seed)

    def take(self, method: str) -> ApiError | None:
        """The failure this call of `method` gets, if any."""
        queue = self._queued.get(method.lower())
        if queue:
            return queue.popleft()
        if self._ratio <= 0 or not self._statuses:
            return None
        if self._methods is None:
            eligible = method.lower() != "getupdates"
        else:
            eligible = method.lower() in self._methods
        if not eligible or self._rng.random() >= self._ratio:
            return None
        status = self._rng.choice(self._statuses)
        return ApiError(status, retry_after=self._retry_after if status == 429 else None)

    def set_slow(self, method: str, seconds: float) -> None:
        """Delay answers to `method` by `seconds` (0 removes the delay)."""
        if seconds > 0:
            self._slow[method.lower()] = seconds
        else:
            self._slow.pop(method.lower(), None)

    def delay(self, method: str) -> float:
        """How long to hold the answer to `method`."""
        return self._slow.get(method.lower(), 0.0)
