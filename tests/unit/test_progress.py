"""Speed and time left, as the status message shows them."""

from __future__ import annotations

from bot.jobs.progress import ProgressTracker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_resumed_download_counts_only_what_arrives_as_speed() -> None:
    clock = Clock()
    tracker = ProgressTracker(clock)
    clock.now += 0.1
    tracker.update(900_000, 1_000_000)  # what a restart left on disk
    clock.now += 1.0
    tracker.update(950_000, 1_000_000)
    snapshot = tracker.snapshot
    assert snapshot is not None
    assert snapshot.done == 950_000
    assert snapshot.speed == 50_000
    assert snapshot.eta == 1.0
