"""What the front records of its jobs as the queue shows them (it is the only SQLite writer),
as the pipeline would have recorded them in one process: the attempt a worker took, and a
result: the choice, the ending, the cached formats Telegram no longer knew. A result read
twice changes nothing (an ending is written only over a job not finished)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.remote.wire import Result
from bot.store.cache import CacheRepo, drop_file
from bot.store.db import Database
from bot.store.jobs import JobRepo, link_of
from bot.store.links import LinkRepo
from bot.store.outcomes import OutcomeRepo, mark_started, write_choice, write_ending


@dataclass(frozen=True, slots=True)
class FrontStores:
    """What the front writes its jobs to."""

    db: Database  # a result's records are written in one transaction
    jobs: JobRepo
    links: LinkRepo
    outcomes: OutcomeRepo
    cache: CacheRepo


async def record_taken(db: Database, job_id: int, attempts: int, *, at: float) -> None:
    """A worker began attempt `attempts` of the job."""
    await db.run(lambda conn: mark_started(conn, job_id, at=at, attempts=attempts))


async def record_result(
    db: Database, job_id: int, url_key: str, result: Result, *, at: float
) -> bool:
    """Record how the job ended; False when it had been recorded already."""

    def write(conn: sqlite3.Connection) -> bool:
        ending = result.ending
        if not write_ending(conn, job_id, link_of(conn, job_id), ending, at=at, once=True):
            return False
        if result.choice is not None:
            write_choice(conn, job_id, result.choice, at=at)
        recached = ending.cached.choice if ending.cached is not None else None
        for choice in result.dropped:
            if choice != recached:  # the run put a fresh file_id in its place
                drop_file(conn, url_key, choice)
        return True

    return await db.run(write)
