"""The front reads the workers' reports: it records them (the only SQLite writer) and hands them
to the engine, which shows them through each job's presenter.

The events stream is read from a position kept in SQLite and written in the same transaction
as what a report records: a front that stops anywhere reads on from its last record, and a
report applied twice changes nothing (an outcome is written only over a job not finished).
So outcomes sent while the front was away wait in Redis and are recorded when it is back.
Progress comes from its own stream, from where it stands now: old progress is not replayed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from bot.jobs.events import JobEvent
from bot.jobs.outcomes import Outcome
from bot.remote import keys
from bot.remote.outbox import FIELD
from bot.remote.redis_client import UNAVAILABLE, QueueProbe, reply
from bot.remote.wire import Began, CacheDropped, Chose, Finished, Report, Shown, WireError, decode
from bot.store.cache import drop_file
from bot.store.db import Database
from bot.store.jobs import link_of
from bot.store.meta import get_value, set_value
from bot.store.outcomes import mark_started, write_choice, write_ending

log = logging.getLogger(__name__)

CURSOR = "remote_events_cursor"  # in the meta table: the last report recorded
START = "0-0"
BLOCK_MS = 2000  # one read waits this long for reports (the quick client's timeout is longer)
BATCH = 200
BACKOFF_S = (1.0, 2.0, 5.0)  # between reads while Redis is away
WRITE_TRIES = 3  # a report whose record fails this often is logged and passed over


class ReportHandler(Protocol):
    """The engine's side: shows what was recorded (never waits)."""

    def shown(self, job_id: int, event: JobEvent) -> None: ...

    def began(self, job_id: int) -> None: ...

    def finished(self, job_id: int, outcome: Outcome, seconds: float) -> None: ...


class Intake:
    def __init__(
        self,
        *,
        db: Database,
        client: Redis,
        probe: QueueProbe,
        handler: ReportHandler,
        clock: Callable[[], dt.datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._client = client
        self._probe = probe
        self._handler = handler
        self._clock = clock
        self._monotonic = monotonic
        self._cursor = START  # the last report handled
        self._committed = START  # the last report whose position is in SQLite
        self._progress_cursor: str | None = None
        self.caught_up = asyncio.Event()  # set once a read found no report left to record
        self.last_caught_up = float("-inf")

    async def run(self) -> None:
        """Read and record until cancelled."""
        self._cursor = self._committed = await self._db.run(
            lambda conn: get_value(conn, CURSOR) or START
        )
        failures = 0
        while True:
            try:
                batch = await self._read()
            except UNAVAILABLE as exc:
                self._probe.failed(exc)
                await asyncio.sleep(BACKOFF_S[min(failures, len(BACKOFF_S) - 1)])
                failures += 1
                continue
            failures = 0
            self._probe.answered()
            events = batch.get(keys.EVENTS, [])
            # Read again after a restart, a job's old events and its outcome can come in one
            # batch: only the outcome is worth showing.
            ended = {r.job_id for _, r in events if isinstance(r, Finished)}
            for entry_id, report in events:
                await self._record(entry_id, report, show=_job_of(report) not in ended)
            if not events:
                self.last_caught_up = self._monotonic()
                self.caught_up.set()
            for entry_id, report in batch.get(keys.PROGRESS, []):
                self._progress_cursor = entry_id
                if isinstance(report, Shown):
                    self._handler.shown(report.job_id, report.event)
            if self._cursor != self._committed:  # reports that only show: keep the position
                await self._commit(self._cursor, lambda _conn: True)
            if events:
                await self._trim()

    async def _read(self) -> dict[str, list[tuple[str, Report | None]]]:
        if self._progress_cursor is None:  # progress from now on
            last = await reply(self._client.xrevrange(keys.PROGRESS, count=1))
            self._progress_cursor = last[0][0].decode() if last else START
        answer = await reply(
            self._client.xread(
                {keys.EVENTS: self._cursor, keys.PROGRESS: self._progress_cursor},
                count=BATCH,
                block=BLOCK_MS,
            )
        )
        batch: dict[str, list[tuple[str, Report | None]]] = {}
        for stream, entries in answer or []:
            batch[stream.decode()] = [(i.decode(), _report(i, f)) for i, f in entries]
        return batch

    async def _record(self, entry_id: str, report: Report | None, *, show: bool) -> None:
        if report is None or isinstance(report, Shown):
            self._cursor = entry_id
            if report is not None and show:
                self._handler.shown(report.job_id, report.event)
            return
        at = self._clock().timestamp()
        write = _write(report, at)
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                written = await self._commit(entry_id, write)
                break
            except Exception:  # the database: try again, then pass over, never crash the front
                log.exception("report_record_failed id=%s attempt=%d", entry_id, attempt)
                if attempt == WRITE_TRIES:
                    self._cursor = entry_id
                    return
                await asyncio.sleep(1.0)
        self._cursor = entry_id
        if isinstance(report, Began):
            self._handler.began(report.job_id)
        elif isinstance(report, Finished):
            if not written:
                log.info("report_duplicate job=%d worker=%s", report.job_id, report.worker)
                return
            log.info(
                "job_reported id=%d state=%s worker=%s",
                report.job_id,
                report.ending.state,
                report.worker,
            )
            self._handler.finished(report.job_id, report.outcome, report.seconds)

    async def _commit(self, entry_id: str, write: Callable[[sqlite3.Connection], bool]) -> bool:
        def transaction(conn: sqlite3.Connection) -> bool:
            written = write(conn)
            set_value(conn, CURSOR, entry_id)
            return written

        written = await self._db.run(transaction)
        self._committed = entry_id
        return written

    async def _trim(self) -> None:
        """Forget the reports recorded (those before the position kept in SQLite)."""
        try:
            await reply(self._client.xtrim(keys.EVENTS, minid=self._committed))
        except UNAVAILABLE as exc:  # the next batch trims
            log.debug("events_trim_failed error=%r", exc)


def _job_of(report: Report | None) -> int | None:
    return None if report is None or isinstance(report, CacheDropped) else report.job_id


def _report(entry_id: bytes, fields: dict[bytes, bytes]) -> Report | None:
    try:
        return decode(fields[FIELD.encode()])
    except (KeyError, WireError) as exc:
        log.warning("report_unreadable id=%s error=%s", entry_id.decode(), exc)
        return None


def _write(report: Report, at: float) -> Callable[[sqlite3.Connection], bool]:
    """What recording `report` writes; True when it changed the job."""
    if isinstance(report, Began):

        def began(conn: sqlite3.Connection) -> bool:
            mark_started(conn, report.job_id, at=at, attempts=report.attempt)
            return True

        return began
    if isinstance(report, Chose):

        def chose(conn: sqlite3.Connection) -> bool:
            write_choice(conn, report.job_id, report.choice, at=at)
            return True

        return chose
    if isinstance(report, CacheDropped):

        def dropped(conn: sqlite3.Connection) -> bool:
            drop_file(conn, report.url_key, report.choice)
            return True

        return dropped
    if isinstance(report, Finished):

        def finished(conn: sqlite3.Connection) -> bool:
            link_id = link_of(conn, report.job_id)
            return write_ending(conn, report.job_id, link_id, report.ending, at=at, once=True)

        return finished
    raise TypeError(f"nothing to record for {report!r}")
