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
    # 3: files delivered in parts. Each part a job delivered, as it goes (a restart
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
    # 4: jobs parked after a site refused them for now (a 429, the bot check, a 5xx):
    # when the window began, when the next try is due, and why.
    """
    ALTER TABLE jobs ADD COLUMN parked_since REAL;
    ALTER TABLE jobs ADD COLUMN retry_at REAL;
    ALTER TABLE jobs ADD COLUMN park_reason TEXT;
    """,
    # 5: a busy bot. An index for every query run for a user or by the daily job
    # (tests/unit/test_query_plans.py names the query each serves), and links counted as they
    # come and end, by quarter hour (900 s; slot 0: all time), so /admin adds up a few hundred
    # rows instead of every link: built from the links kept, plus the running totals the
    # purge kept of the links it removed, which move here from meta.
    """
    CREATE INDEX jobs_link ON jobs(link_id);
    CREATE INDEX jobs_updated ON jobs(updated_at);
    CREATE INDEX jobs_user ON jobs(user_id);
    CREATE INDEX links_pending ON links(created_at) WHERE outcome = 'pending';
    CREATE INDEX file_cache_created ON file_cache(created_at);
    CREATE INDEX users_seen ON users(last_seen);
    CREATE INDEX users_banned ON users(user_id) WHERE banned = 1;
    CREATE TABLE link_tally (
        slot INTEGER NOT NULL,
        what TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        n INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (slot, what, reason)
    ) WITHOUT ROWID;
    INSERT INTO link_tally (slot, what, reason, n, bytes)
        SELECT CAST(created_at / 900 AS INTEGER), 'received', '', COUNT(*), 0
        FROM links GROUP BY 1;
    INSERT INTO link_tally (slot, what, reason, n, bytes)
        SELECT CAST(finished_at / 900 AS INTEGER),
            CASE outcome WHEN 'unconfirmed' THEN 'delivered' ELSE outcome END,
            CASE outcome WHEN 'failed' THEN COALESCE(reason, '') ELSE '' END,
            COUNT(*),
            COALESCE(SUM(CASE WHEN outcome IN ('delivered', 'unconfirmed') THEN size END), 0)
        FROM links
        WHERE outcome IN ('delivered', 'unconfirmed', 'failed', 'cancelled')
            AND finished_at IS NOT NULL
        GROUP BY 1, 2, 3;
    INSERT INTO link_tally (slot, what, reason, n, bytes)
        SELECT 0, what, reason, SUM(n), SUM(bytes) FROM link_tally GROUP BY what, reason;
    CREATE TEMP TABLE purged AS SELECT
        COALESCE((SELECT CAST(value AS INTEGER) FROM meta
            WHERE key = 'links_purged_received'), 0) AS received,
        COALESCE((SELECT CAST(value AS INTEGER) FROM meta
            WHERE key = 'links_purged_delivered'), 0) AS delivered,
        COALESCE((SELECT CAST(value AS INTEGER) FROM meta
            WHERE key = 'links_purged_failed'), 0) AS failed,
        COALESCE((SELECT CAST(value AS INTEGER) FROM meta
            WHERE key = 'links_purged_cancelled'), 0) AS cancelled,
        COALESCE((SELECT CAST(value AS INTEGER) FROM meta
            WHERE key = 'links_purged_bytes'), 0) AS bytes;
    -- Totals purged before received/failed/cancelled were kept: received is at least the sum.
    INSERT INTO link_tally (slot, what, reason, n, bytes)
        SELECT 0, what, '', n, bytes FROM (
            SELECT 'received' AS what, MAX(received, delivered + failed + cancelled) AS n,
                0 AS bytes FROM purged
            UNION ALL SELECT 'delivered', delivered, bytes FROM purged
            UNION ALL SELECT 'failed', failed, 0 FROM purged
            UNION ALL SELECT 'cancelled', cancelled, 0 FROM purged
        ) WHERE n > 0
        ON CONFLICT(slot, what, reason) DO UPDATE
            SET n = n + excluded.n, bytes = bytes + excluded.bytes;
    DROP TABLE purged;
    DELETE FROM meta WHERE key IN ('links_purged_received', 'links_purged_delivered',
        'links_purged_failed', 'links_purged_cancelled', 'links_purged_bytes');
    """,
    # 6: where users are. Each user's /settings; a job's forum topic and how its
    # user wants its files; the groups the bot was added to (who added it, /autodl); and the
    # links an inline query sent to the private chat, by the token of its deep link.
    """
    ALTER TABLE users ADD COLUMN default_format TEXT;
    ALTER TABLE users ADD COLUMN video_as_file INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN more_note INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE jobs ADD COLUMN thread_id INTEGER;
    ALTER TABLE jobs ADD COLUMN as_file INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN more_note INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE chat_groups (
        chat_id INTEGER PRIMARY KEY,
        added_by INTEGER,
        added_at REAL NOT NULL,
        autodl INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE inline_links (
        token TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        url TEXT NOT NULL,
        created_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX inline_links_created ON inline_links(created_at);
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
