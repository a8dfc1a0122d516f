"""The SQLite connection, owned by one worker thread so the event loop never blocks on disk."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from bot.config.settings import StartupError
from bot.store.migrations import migrate

log = logging.getLogger(__name__)
T = TypeVar("T")


class Database:
    """One connection in WAL mode; every query runs on its single dedicated thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Open (and migrate) the database; StartupError, one line, when it cannot be used."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        await self._submit(self._connect)

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
            version = migrate(conn)
        except (sqlite3.Error, RuntimeError) as exc:
            if conn is not None:
                conn.close()
            raise StartupError(f"database {self.path} is unreadable or corrupt: {exc}") from exc
        log.info("db_open path=%s schema=%d", self.path, version)
        self._conn = conn

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._conn is not None:
            await self._submit(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in one transaction on the database thread."""

        def call() -> T:
            conn = self._conn
            if conn is None:
                raise RuntimeError("database is closed")
            with conn:  # commits, or rolls back on error
                conn.execute("BEGIN")
                return fn(conn)

        return await self._submit(call)

    async def _submit(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise RuntimeError("database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
