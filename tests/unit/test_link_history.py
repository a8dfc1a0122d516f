"""A page of history from the store: each link with how many files its job put in the chat."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.model.job import FormatChoice, JobState
from bot.model.media import MediaKind
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkOutcome, LinkRepo
from bot.store.parts import PartRepo, SentPart

NOW = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)


def clock() -> dt.datetime:
    return NOW


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "tgfetch.sqlite3")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def delivered(db: Database, url: str, files: int, choice: FormatChoice) -> None:
    """A link whose job chose `choice` and wrote `files` rows in its ledger."""
    jobs, links, parts = JobRepo(db, clock), LinkRepo(db, clock), PartRepo(db, clock)
    job = await jobs.create(
        user_id=1, chat_id=1, url=url, language="en", link_id=None, new_link=True
    )
    await jobs.update(job.id, choice=choice)
    for index in range(1, files + 1):
        await parts.record(job.id, SentPart(index, files, f"f{index}", MediaKind.VIDEO, 10))
    assert job.link_id is not None
    await links.finish(job.link_id, LinkOutcome.DELIVERED, size=10 * files)


async def test_history_counts_the_parts_and_items_each_link_went_in(db: Database) -> None:
    await delivered(db, "https://a.example/one", 0, FormatChoice.BEST)
    await delivered(db, "https://a.example/big", 3, FormatChoice.BEST)
    await delivered(db, "https://a.example/list", 12, FormatChoice.ALL)
    links = LinkRepo(db, clock)
    await links.add(1, "https://a.example/no-job")  # a link without a job
    records = await links.history(1, limit=10)
    counts = {r.url.rsplit("/", 1)[1]: (r.files, r.playlist) for r in records}
    assert counts == {
        "one": (0, False),
        "big": (3, False),
        "list": (12, True),
        "no-job": (0, False),
    }  # one row a link, however many parts


async def test_a_purged_job_leaves_its_link_without_a_count(db: Database) -> None:
    await delivered(db, "https://a.example/big", 3, FormatChoice.BEST)
    jobs = JobRepo(db, clock)
    await jobs.update(1, state=JobState.DONE)
    assert await jobs.purge_finished(NOW + dt.timedelta(days=1)) == 1
    [record] = await LinkRepo(db, clock).history(1, limit=10)
    assert (record.outcome, record.files) == (LinkOutcome.DELIVERED, 0)
