"""Numbered schema migrations, applied in order and tracked in PRAGMA user_version."""

from __future__ import annotations

import sqlite3

# Each entry moves the schema from version i to i + 1. Never edit a shipped entry: append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        user_id INTEGER PRIMARY KEY,
        first_name TEXT NOT NULL DEFAULT '',
        username TEXT,
        language_code TEXT,
        language_override TEXT,
        banned INTEGER NOT NULL DEFAULT 0,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL
    );
    CREATE TABLE links (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        url TEXT NOT NULL,
        created_at REAL NOT NULL,
        outcome TEXT NOT NULL DEFAULT 'pending',
        reason TEXT,
        size INTEGER,
        title TEXT,
        finished_at REAL,
        noticed_at REAL
    );
    CREATE INDEX links_user ON links(user_id, created_at DESC);
    CREATE INDEX links_created ON links(created_at);
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        url TEXT NOT NULL,
        choice TEXT NOT NULL,
        state TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT 'en',
        status_message_id INTEGER,
        link_id INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX jobs_state ON jobs(state);
    CREATE TABLE file_cache (
        url_key TEXT NOT NULL,
        choice TEXT NOT NULL,
        file_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT,
        size INTEGER,
        created_at REAL NOT NULL,
        PRIMARY KEY (url_key, choice)
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: the user's message a job answers (its files reply to it, after a restart too), and
    # how many more videos the page of a cached file had.
    """
    ALTER TABLE jobs ADD COLUMN reply_to INTEGER;
    ALTER TABLE file_cache ADD COLUMN more INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: files delivered in parts (issue 16). Each part a job delivered, as it goes (a restart
    # resumes after the last one; a part whose answer was lost has no file_id and is never
    # sent again); and every part of a cached file, so the same link is answered with all.
    """
    CREATE TABLE job_parts (
        job_id INTEGER NOT NULL,
        part INTEGER NOT NULL,
        parts INTEGER NOT NULL,
        file_id TEXT,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        start_s REAL,
        end_s REAL,
        sent_at REAL NOT NULL,
        PRIMARY KEY (job_id, part)
    );
    CREATE TABLE file_cache_parts (
        url_key TEXT NOT NULL,
        choice TEXT NOT NULL,
        part INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        start_s REAL,
        end_s REAL,
        PRIMARY KEY (url_key, choice, part)
    );
    """,
    # 4: jobs parked after a site refused them for now (issue 23: a 429, the bot check, a 5xx):
    # when the window began, when the next try is due, and why.
    """
    ALTER TABLE jobs ADD COLUMN parked_since REAL;
    ALTER TABLE jobs ADD COLUMN retry_at REAL;
    ALTER TABLE jobs ADD COLUMN park_reason TEXT;
    """,
)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int | None = None) -> int:
    """Apply every migration past the current version (up to `target`); returns the version."""
    goal = len(MIGRATIONS) if target is None else target
    version = schema_version(conn)
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema {version} is newer than this tgfetch ({len(MIGRATIONS)})"
        )
    while version < goal:
        conn.executescript(
            f"BEGIN;\n{MIGRATIONS[version]}\nPRAGMA user_version={version + 1};\nCOMMIT;"
        )
        version += 1
    return version
