"""Inline mode's pieces: the deep link's token (short, safe, the user's own, a day long) and the
results a cached link is answered with (each format and part, with a title)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.handlers.inline import inline_results
from bot.i18n import I18n
from bot.model.media import MediaKind
from bot.store.cache import CachedFile
from bot.store.db import Database
from bot.store.inline import InlineRepo
from bot.store.parts import SentPart

URL = "https://example.com/watch?v=" + "x" * 300  # far longer than a /start payload may be


class Clock:
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "db.sqlite3")
    await database.open()
    yield database
    await database.close()


async def test_a_token_is_a_safe_payload_for_its_user_and_its_day(db: Database) -> None:
    clock = Clock()
    repo = InlineRepo(db, clock)
    token = await repo.put(7, URL)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", token)  # what /start takes
    assert await repo.put(7, URL) == token  # the same query, keystroke after keystroke
    assert await repo.put(8, URL) != token
    assert await repo.url_of(token, 7) == URL
    assert await repo.url_of(token, 8) is None  # another user's
    clock.now += dt.timedelta(days=1, seconds=1)
    assert await repo.url_of(token, 7) is None  # a day old
    await repo.put(9, "https://example.com/other")  # and cleared by the next one
    rows = await db.read(lambda c: c.execute("SELECT COUNT(*) FROM inline_links").fetchone()[0])
    assert rows == 1  # only the new one: the old ones went with it


def test_a_cached_link_is_offered_in_every_format_and_part_with_a_title() -> None:
    tr = I18n().get("en")
    parts = (
        SentPart(1, 2, "P1", MediaKind.VIDEO, 40, 0.0, 60.0),
        SentPart(2, 2, None, MediaKind.VIDEO, 40, 60.0, None),  # its answer was lost
    )
    files = {
        "audio": CachedFile("A", MediaKind.AUDIO, "Song", 3),
        "best": CachedFile("P1", MediaKind.VIDEO, "Clip", 80, parts=parts),
        "file": CachedFile("D", MediaKind.DOCUMENT, None, 5),
    }
    results = [r.to_dict() for r in inline_results(tr, URL, files)]
    assert [(r["type"], r["id"]) for r in results] == [
        ("video", "best-1"),
        ("audio", "audio"),
        ("document", "file"),
    ]
    assert results[0]["video_file_id"] == "P1"
    assert results[0]["title"] == "🎬 Best video · Clip · 1/2"
    assert "Part 1 of 2" in results[0]["caption"]
    assert results[2]["title"].startswith("📄 File · example.com")  # no title: the link
