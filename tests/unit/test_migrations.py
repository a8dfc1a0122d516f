"""The schema migrates from an empty database and from every earlier version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.store.migrations import MIGRATIONS, migrate, schema_version


def tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows if not r[0].startswith("sqlite_")}


@pytest.mark.parametrize("start", range(len(MIGRATIONS) + 1))
def test_migrates_from_every_version(tmp_path: Path, start: int) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    migrate(conn, target=start)
    assert schema_version(conn) == start
    assert migrate(conn) == len(MIGRATIONS)
    assert {"users", "links", "jobs", "file_cache", "meta", "link_tally"} <= tables(conn)
    assert migrate(conn) == len(MIGRATIONS)  # idempotent


def test_refuses_a_newer_database(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        migrate(conn)
