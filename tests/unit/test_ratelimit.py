"""The per-user link rate limit."""

from __future__ import annotations

from bot.access.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_per_user_in_a_sliding_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)
    assert [limiter.take(1, 1) for _ in range(4)] == [1, 1, 1, 0]
    assert limiter.take(2, 1)  # other users are not affected
    clock.now += 30
    assert not limiter.take(1, 1)
    assert limiter.retry_in(1) == 30
    clock.now += 30
    assert limiter.take(1, 1)


def test_zero_means_unlimited_and_idle_users_are_forgotten() -> None:
    clock = Clock()
    assert all(RateLimiter(0, clock).take(1, 1) for _ in range(100))
    limiter = RateLimiter(1, clock)
    limiter.take(7, 1)
    clock.now += 61
    limiter.forget_idle()
    assert limiter.retry_in(7) == 0


def test_a_message_with_several_links_takes_what_fits() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)
    assert limiter.take(1, 2) == 2
    assert limiter.take(1, 5) == 1  # one place left in this minute
    assert limiter.take(1, 1) == 0
    assert limiter.retry_in(1) == 60
    clock.now += 60
    assert limiter.take(1, 4) == 3
    assert RateLimiter(0, clock).take(1, 50) == 50
