"""Bulk work in short write transactions, so that every other statement gets in between.

A purge of half a million links in one transaction would hold the one writer for seconds: every
user's write (a visit, a new link) would wait behind it. Here the work is done `size` rows at a
time, each batch its own transaction; whatever was submitted meanwhile runs before the next
batch. The size follows how long a batch took, so a slow disk gets smaller batches.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.store.db import Database

# A step does at most `limit` rows and says how many it did; fewer than `limit`: all done.
Step = Callable[[sqlite3.Connection, int], int]


@dataclass(frozen=True, slots=True)
class Pace:
    """How big a batch is: it starts at `first` and is resized towards `target_s` a batch."""

    first: int = 500
    least: int = 20
    most: int = 5000
    target_s: float = 0.02

    def next(self, size: int, took_s: float) -> int:
        """The size after a batch of `size` took `took_s` (at most halved or doubled)."""
        wanted = size * self.target_s / max(took_s, 1e-4)
        wanted = min(max(wanted, size / 2), size * 2)
        return int(min(max(wanted, self.least), self.most))


PACE = Pace()


async def in_batches(db: Database, step: Step, pace: Pace = PACE) -> int:
    """Run `step` batch after batch until one does less than asked; returns the rows done."""
    done, size = 0, pace.first

    def batch(limit: int) -> Callable[[sqlite3.Connection], tuple[int, float]]:
        def timed(conn: sqlite3.Connection) -> tuple[int, float]:
            began = time.perf_counter()
            return step(conn, limit), time.perf_counter() - began

        return timed

    while True:
        limit = size
        count, took = await db.run(batch(limit))
        done += count
        if count < limit:
            return done
        size = pace.next(limit, took)
        await asyncio.sleep(0)  # what woke meanwhile submits its statement before the next batch
