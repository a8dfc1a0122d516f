"""Bulk work in short write transactions, so that every other statement gets in between.

A purge of half a million links in one transaction would hold the one writer for seconds: every
user's write (a visit, a new link) would wait behind it. Here the work is done `size` rows at a
time, each batch its own transaction; whatever was submitted meanwhile runs before the next
batch. The size follows how long a batch took, so a slow disk gets smaller batches.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.store.db import Database

log = logging.getLogger(__name__)

# A step does at most `limit` rows and says how many it did; fewer than `limit`: all done.
Step = Callable[[sqlite3.Connection, int], int]


@dataclass(frozen=True, slots=True)
class BatchPace:
    """How big a batch is (it starts at `first` and is resized towards `target_s` a batch),
    and how long the writer is left to others after one."""

    first: int = 500
    least: int = 20
    most: int = 5000
    target_s: float = 0.01
    # After each batch the writer is left to others for `rest` times as long as it took: the
    # disk and the CPU are theirs half of the time, and a write finds the writer free.
    rest: float = 1.0

    def next(self, size: int, took_s: float) -> int:
        """The size after a batch of `size` took `took_s` (at most halved or doubled)."""
        wanted = size * self.target_s / max(took_s, 1e-4)
        wanted = min(max(wanted, size / 2), size * 2)
        return int(min(max(wanted, self.least), self.most))


PACE = BatchPace()


def _call(step: Step, limit: int, conn: sqlite3.Connection) -> int:
    return step(conn, limit)


async def in_batches(db: Database, step: Step, pace: BatchPace = PACE, *, name: str = "") -> int:
    """Run `step` batch after batch until one does less than asked; returns the rows done."""
    done, size, batches, busy = 0, pace.first, 0, 0.0
    began = time.monotonic()

    while True:
        limit = size
        count, took = await db.run_timed(functools.partial(_call, step, limit))
        done, batches, busy = done + count, batches + 1, busy + took
        if count < limit:
            if done:
                log.info(
                    "batches_done work=%s rows=%d batches=%d busy_s=%.2f seconds=%.2f",
                    name or getattr(step, "__name__", "?"),
                    done,
                    batches,
                    busy,
                    time.monotonic() - began,
                )
            return done
        size = pace.next(limit, took)
        await asyncio.gather(asyncio.sleep(took * pace.rest), db.checkpoint())
