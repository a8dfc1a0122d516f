"""Links an inline query sent to the private chat: the deep link's /start payload is a token,
and the URL stays here (a payload holds 64 characters of [A-Za-z0-9_-], and a URL is
neither). A token works only for the user it was made for, for a day."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable

from bot.store.db import Database

TOKEN_CHARS = 22  # 132 bits of an HMAC, URL-safe base64 ([A-Za-z0-9_-])
KEPT = dt.timedelta(days=1)
PURGED_PER_PUT = 50  # tokens older than a day removed by each new one, so the table stays small
PREFIX = "dl-"  # a /start payload that is a link's token (beside /start's other payloads)


class InlineRepo:
    """Tokens for links, keyed by an HMAC of the user and the URL: the same inline query
    (Telegram sends one per keystroke pause) gives the same token and keeps one row."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], dt.datetime],
        key: bytes | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        # Per process: after a restart the same query makes a new token (the old still works).
        self._key = key or secrets.token_bytes(32)

    def token(self, user_id: int, url: str) -> str:
        mac = hmac.new(self._key, f"{user_id}\n{url}".encode(), hashlib.sha256).digest()
        return PREFIX + base64.urlsafe_b64encode(mac).decode()[:TOKEN_CHARS]

    async def put(self, user_id: int, url: str) -> str:
        """Keep `url` for the user; returns the token for the deep link."""
        token = self.token(user_id, url)
        now = self._clock()
        cut = (now - KEPT).timestamp()

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM inline_links WHERE token IN (SELECT token FROM inline_links"
                " WHERE created_at < ? ORDER BY created_at LIMIT ?)",
                (cut, PURGED_PER_PUT),
            )
            conn.execute(
                "INSERT INTO inline_links (token, user_id, url, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(token) DO UPDATE SET created_at = excluded.created_at",
                (token, user_id, url, now.timestamp()),
            )

        await self._db.run(upsert)
        return token

    async def url_of(self, token: str, user_id: int) -> str | None:
        """The link of a token made for this user within a day; None otherwise."""
        cut = (self._clock() - KEPT).timestamp()

        def query(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT url FROM inline_links WHERE token = ? AND user_id = ? AND created_at >= ?",
                (token, user_id, cut),
            ).fetchone()
            return None if row is None else str(row["url"])

        return await self._db.read(query)
