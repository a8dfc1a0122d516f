"""Persisted jobs, so that neither a restart nor a crash loses one."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable

from bot.model.job import DEFAULT_PREFS, FormatChoice, Job, JobPrefs, JobState
from bot.store import purge
from bot.store.batches import in_batches
from bot.store.db import Database
from bot.store.links import drop_link, insert_link

UNFINISHED = (JobState.QUEUED.value, JobState.RUNNING.value, JobState.PARKED.value)
# In the meta table: "running" from start-up until the jobs were stopped and recorded at a
# clean shutdown ("stopped"). Found "running" at start-up, the last run ended in a crash.
SESSION_KEY = "jobs_session"


def _moment(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        url=row["url"],
        choice=FormatChoice(row["choice"]),
        state=JobState(row["state"]),
        language=row["language"],
        status_message_id=row["status_message_id"],
        link_id=row["link_id"],
        attempts=row["attempts"],
        created_at=dt.datetime.fromtimestamp(row["created_at"], dt.UTC),
        reply_to=row["reply_to"],
        parked_since=_moment(row["parked_since"]),
        retry_at=_moment(row["retry_at"]),
        thread_id=row["thread_id"],
        prefs=JobPrefs(as_file=bool(row["as_file"]), more_note=bool(row["more_note"])),
    )


def link_of(conn: sqlite3.Connection, job_id: int) -> int | None:
    """The job's link, inside the caller's transaction (None: no such job, or no link)."""
    row = conn.execute("SELECT link_id FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else row["link_id"]


class JobRepo:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self,
        *,
        user_id: int,
        chat_id: int,
        url: str,
        language: str,
        link_id: int | None,
        reply_to: int | None = None,
        new_link: bool = False,
        choice: FormatChoice = FormatChoice.AUTO,
        thread_id: int | None = None,
        prefs: JobPrefs = DEFAULT_PREFS,
    ) -> Job:
        """A queued job; `new_link`: its user's link is written with it, in one transaction
        (then `link_id` is not used). `thread_id`: the forum topic its files go to."""
        now = self._clock().timestamp()

        def insert(conn: sqlite3.Connection) -> Job:
            link = insert_link(conn, user_id, url, at=now) if new_link else link_id
            cur = conn.execute(
                "INSERT INTO jobs (user_id, chat_id, url, choice, state, language, link_id,"
                " reply_to, thread_id, as_file, more_note, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    chat_id,
                    url,
                    choice.value,
                    JobState.QUEUED.value,
                    language,
                    link,
                    reply_to,
                    thread_id,
                    int(prefs.as_file),
                    int(prefs.more_note),
                    now,
                    now,
                ),
            )
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (cur.lastrowid,)).fetchone()
            return _job(row)

        return await self._db.run(insert)

    async def get(self, job_id: int) -> Job | None:
        """One job, finished or not (a button names it: who may press it, what it was)."""

        def query(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return None if row is None else _job(row)

        return await self._db.read(query)

    async def update(
        self,
        job_id: int,
        *,
        state: JobState | None = None,
        choice: FormatChoice | None = None,
        status_message_id: int | None = None,
        bump_attempts: bool = False,
        attempts: int | None = None,
    ) -> None:
        sets = ["updated_at = ?"]
        args: list[object] = [self._clock().timestamp()]
        if state is not None:
            sets.append("state = ?")
            args.append(state.value)
        if choice is not None:
            sets.append("choice = ?")
            args.append(choice.value)
        if status_message_id is not None:
            sets.append("status_message_id = ?")
            args.append(status_message_id)
        if bump_attempts:
            sets.append("attempts = attempts + 1")
        if attempts is not None:
            sets.append("attempts = ?")
            args.append(attempts)
        args.append(job_id)
        sql = f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?"  # noqa: S608 - fixed columns
        await self._db.run(lambda conn: conn.execute(sql, args))

    async def discard(self, job_id: int) -> None:
        """Forget a job that never started and its link, as if it had been refused (the queue
        it was meant for could not take it)."""

        def delete(conn: sqlite3.Connection) -> None:
            link_id = link_of(conn, job_id)
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            if link_id is not None:
                drop_link(conn, link_id)

        await self._db.run(delete)

    async def remember(self, job_id: int, message_id: int) -> None:
        """The job's status message, so that a restart edits it instead of sending another."""
        await self.update(job_id, status_message_id=message_id)

    async def begin_session(self) -> bool:
        """Mark the daemon as running jobs; True if the previous run did not end cleanly."""

        def swap(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (SESSION_KEY,)).fetchone()
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, 'running')"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (SESSION_KEY,),
            )
            return row is not None and row["value"] == "running"

        return await self._db.run(swap)

    async def end_session(self) -> None:
        """Every job was stopped and its state recorded: the next start is not after a crash."""
        await self._db.run(
            lambda conn: conn.execute(
                "UPDATE meta SET value = 'stopped' WHERE key = ?", (SESSION_KEY,)
            )
        )

    async def unfinished(self) -> list[Job]:
        """The jobs a restart finds unfinished. On the writer, not a reader: resume() asks
        right after begin_session() while polling already runs, and the one writer's order
        keeps a job submitted meanwhile out of the answer (a reader's thread, started late on
        a busy machine, could see it committed and the job would run twice)."""

        def query(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE state IN (?, ?, ?) ORDER BY id", UNFINISHED
            ).fetchall()
            return [_job(r) for r in rows]

        return await self._db.run(query)

    async def purge_finished(self, before: dt.datetime) -> int:
        """Forget finished jobs older than `before`, a batch at a time (their outcome lives on
        in the links)."""
        cut = before.timestamp()
        return await in_batches(
            self._db, lambda conn, limit: purge.finished_jobs(conn, cut, limit), name="jobs_purge"
        )

    async def forget_finished(self, user_id: int) -> int:
        """Erase one user's finished jobs (their URLs), as /forget promises; unfinished stay."""
        return await in_batches(
            self._db,
            lambda conn, limit: purge.finished_jobs_of(conn, user_id, limit),
            name="jobs_forget",
        )
