"""The SQLite database: one writer thread, and a small pool of readers beside it (WAL).

Every write goes through the one writer connection, a transaction at a time, so writes never
contend; reads take a reader connection and see the last committed state without waiting for
the writer, whatever it is doing (WAL lets readers run beside a writer). Bulk work (the daily
purge) runs as short write transactions (store/batches.py), so other writes get in between.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from bot.config.settings import StartupError
from bot.store.migrations import migrate

log = logging.getLogger(__name__)
T = TypeVar("T")

READERS = 2
# The target VPS has 1 GB: each connection keeps SQLite's default page cache (2 MB); the
# kernel's page cache holds the file anyway (a 16 MB cache for the writer made the purge of two
# months no faster: docs/BENCHMARKS.md). No mmap: it would count every page of the file read
# as the daemon's memory, and turn an I/O error into SIGBUS.
# A big purge grows the WAL; once checkpointed it is cut back to this.
WAL_LIMIT_BYTES = 32 * 1024 * 1024


class Database:
    """One writer connection on its own thread, READERS read-only connections on theirs."""

    def __init__(self, path: Path, *, readers: int = READERS) -> None:
        self.path = path
        self._readers = readers
        self._executor: ThreadPoolExecutor | None = None
        self._reading: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._opened: list[sqlite3.Connection] = []

    async def open(self) -> None:
        """Open (and migrate) the database; StartupError, one line, when it cannot be used."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        await self._submit(self._connect)
        self._reading = ThreadPoolExecutor(self._readers, thread_name_prefix="sqlite-read")
        try:
            for _ in range(self._readers):
                reader = await self._submit(self._connect_reader)
                self._opened.append(reader)
                self._idle.put(reader)
        except sqlite3.Error as exc:
            await self.close()
            raise StartupError(f"database {self.path} cannot be read: {exc}") from exc

    def _connect(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # SQLite opens a read-only folder's database and fails only at the first write;
            # the job folders would fail later still. Find out now.
            probe = folder / ".tgfetch-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StartupError(
                f"DATA_DIR {folder} is not writable: {exc.strerror or exc}"
            ) from exc
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            version = migrate(conn)
        except (sqlite3.Error, RuntimeError) as exc:
            if conn is not None:
                conn.close()
            raise StartupError(f"database {self.path} is unreadable or corrupt: {exc}") from exc
        log.info("db_open path=%s schema=%d readers=%d", self.path, version, self._readers)
        self._conn = conn

    def _connect_reader(self) -> sqlite3.Connection:
        # Used by one reader thread at a time (handed over through the idle queue).
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._reading is not None:
            self._reading.shutdown(wait=True)  # the reads under way end first
            self._reading = None
        readers, self._opened = self._opened, []
        for reader in readers:
            await self._submit(reader.close)
        if self._conn is not None:
            await self._submit(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in one write transaction on the writer's thread."""
        return (await self.run_timed(fn))[0]

    async def run_timed(self, fn: Callable[[sqlite3.Connection], T]) -> tuple[T, float]:
        """`run`, and how long the transaction held the writer, its commit included."""

        def call() -> tuple[T, float]:
            conn = self._conn
            if conn is None:
                raise RuntimeError("database is closed")
            began = time.perf_counter()
            with conn:  # commits, or rolls back on error
                conn.execute("BEGIN")
                result = fn(conn)
            return result, time.perf_counter() - began

        return await self._submit(call)

    async def checkpoint(self) -> None:
        """Copy what the WAL holds into the database, on a reader's thread and waiting for
        nobody (PASSIVE): after bulk work, so that the writer's own commits seldom have to
        (a checkpoint syncs the disk, slow on a VPS)."""
        await self.read(lambda conn: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in one read transaction (one snapshot) on a reader's thread; it
        sees every write committed before it began and never waits for the writer."""
        pool = self._reading
        if pool is None:
            raise RuntimeError("database is not open")

        def call() -> T:
            conn = self._idle.get_nowait()  # never empty: as many threads as connections
            try:
                conn.execute("BEGIN")
                try:
                    return fn(conn)
                finally:
                    conn.execute("COMMIT")
            finally:
                self._idle.put(conn)

        return await asyncio.get_running_loop().run_in_executor(pool, call)

    async def trace(self, callback: Callable[[str], object] | None) -> None:
        """Pass every statement's SQL, values filled in, to `callback` (None: stop). For the
        test that explains every query the repositories run."""
        writer = self._conn
        if writer is not None:
            await self._submit(lambda: writer.set_trace_callback(callback))
        for reader in self._opened:
            reader.set_trace_callback(callback)

    async def _submit(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise RuntimeError("database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
