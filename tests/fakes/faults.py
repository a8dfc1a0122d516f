"""Fault injection for the fake Bot API: queued failures, random failures, slow methods,
lost answers (the method performed, its answer never sent), answers of the wrong shape, and
answers with a field left out (the method performed, its answer incomplete)."""

from __future__ import annotations

import copy
import random
from collections import deque
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from tests.fakes.errors import ApiError


class Loss(StrEnum):
    """How an answer is lost after the method was performed."""

    DROP = "drop"  # the connection is closed without an answer
    STALL = "stall"  # no answer until the client gives up (its read timeout), then closed


class Faults:
    """Decides which calls fail and how: `take` before the method runs, `loss` after it."""

    def __init__(self) -> None:
        self._queued: dict[str, deque[ApiError]] = {}
        self._ratio = 0.0
        self._statuses: tuple[int, ...] = ()
        self._methods: frozenset[str] | None = None
        self._retry_after = 1
        self._rng = random.Random(0)
        self._slow: dict[str, float] = {}
        self._lost_queued: dict[str, deque[Loss]] = {}
        self._loss_ratio = 0.0
        self._loss_methods: frozenset[str] | None = None
        self._loss_modes: tuple[Loss, ...] = (Loss.DROP,)
        self._loss_rng = random.Random(0)
        self._answers: dict[str, Any] = {}
        self._cut: dict[str, deque[tuple[str, ...]]] = {}

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
        if not self._statuses or not _drawn(method, self._ratio, self._methods, self._rng):
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

    def lose_next(self, method: str, count: int = 1, how: Loss = Loss.DROP) -> None:
        """Lose the answers of the next `count` calls of `method` (performed all the same)."""
        queue = self._lost_queued.setdefault(method.lower(), deque())
        queue.extend([how] * count)

    def lose_ratio(
        self, ratio: float, *, seed: int, methods: Iterable[str] | None, modes: Iterable[Loss]
    ) -> None:
        """Lose a seeded-random fraction of answers (getUpdates only when named in `methods`)."""
        self._loss_ratio = ratio
        self._loss_methods = None if methods is None else frozenset(m.lower() for m in methods)
        self._loss_modes = tuple(modes) or (Loss.DROP,)
        self._loss_rng = random.Random(seed)

    def loss(self, method: str) -> Loss | None:
        """Whether this call's answer, the method already performed, is lost, and how."""
        queue = self._lost_queued.get(method.lower())
        if queue:
            return queue.popleft()
        if not _drawn(method, self._loss_ratio, self._loss_methods, self._loss_rng):
            return None
        return self._loss_rng.choice(self._loss_modes)

    def answer_with(self, method: str, result: Any) -> None:
        """Answer `method` with `{"ok": true, "result": result}` instead of performing it."""
        self._answers[method.lower()] = result

    def answer_of(self, method: str) -> tuple[bool, Any]:
        """(True, the set result) when `method` is answered with a set result."""
        key = method.lower()
        return (key in self._answers, self._answers.get(key))

    def cut_next(self, method: str, path: tuple[str, ...], count: int = 1) -> None:
        """Perform the next `count` calls of `method`, then answer without the field at `path`
        (("video", "width"): the message's video object has no width)."""
        self._cut.setdefault(method.lower(), deque()).extend([path] * count)

    def cut(self, method: str, result: Any) -> Any:
        """The answer to this performed call, with a field left out if one was asked for."""
        queue = self._cut.get(method.lower())
        if not queue:
            return result
        *parents, last = queue.popleft()
        result = copy.deepcopy(result)  # the chat's own records stay whole
        target = result
        for key in parents:
            target = target.get(key) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(last, None)
        return result


def _drawn(method: str, ratio: float, methods: frozenset[str] | None, rng: random.Random) -> bool:
    """Whether a random fault hits this call: the method is eligible (any but getUpdates when
    `methods` is None) and the seeded draw falls under `ratio`."""
    if ratio <= 0:
        return False
    eligible = method.lower() != "getupdates" if methods is None else method.lower() in methods
    return eligible and rng.random() < ratio
