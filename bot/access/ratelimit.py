"""Per-user rate limit on links: a sliding window over the last minute."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

WINDOW_S = 60.0


class RateLimiter:
    """`allow(user)` is True for at most `per_minute` calls in any 60 s; 0 means no limit."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._hits: defaultdict[int, deque[float]] = defaultdict(deque)

    @property
    def per_minute(self) -> int:
        return self._limit

    def take(self, user_id: int, wanted: int) -> int:
        """Count up to `wanted` links (one message may carry several); returns how many fit."""
        if self._limit <= 0:
            return wanted
        if len(self._hits) > 1000:
            self.forget_idle()
        now = self._clock()
        hits = self._hits[user_id]
        while hits and now - hits[0] >= WINDOW_S:
            hits.popleft()
        granted = max(0, min(wanted, self._limit - len(hits)))
        hits.extend([now] * granted)
        return granted

    def retry_in(self, user_id: int) -> int:
        """Whole seconds until the user may send another link."""
        hits = self._hits.get(user_id)
        if not hits:
            return 0
        return max(1, int(WINDOW_S - (self._clock() - hits[0]) + 0.999))

    def forget_idle(self) -> None:
        """Drops users with no hit in the window, so the table does not grow for months."""
        now = self._clock()
        for user_id in [u for u, h in self._hits.items() if not h or now - h[-1] >= WINDOW_S]:
            del self._hits[user_id]
