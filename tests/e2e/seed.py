"""Writes a database as an earlier run of the daemon would have left it: users, old links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.daily.expiry import LAST_RUN_KEY
from bot.store.db import Database
from bot.store.links import LinkOutcome, LinkRepo
from bot.store.meta import MetaRepo
from bot.store.users import UserRepo

DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class OldLink:
    user_id: int
    url: str
    age: dt.timedelta  # how long before now the user sent it
    outcome: LinkOutcome = LinkOutcome.DELIVERED
    reason: str | None = None
    at: dt.datetime | None = None  # when the user sent it, if that moment matters (not age)


@dataclass(frozen=True, slots=True)
class OldUser:
    user_id: int
    first_name: str
    username: str | None = None


async def seed(
    data_dir: Path,
    *,
    users: Sequence[OldUser] = (),
    links: Sequence[OldLink] = (),
    last_run: dt.datetime | None = None,
) -> None:
    """Fill the daemon's database before it starts; `last_run` is when the daily job last ran."""
    moment = dt.datetime.now(dt.UTC)
    db = Database(data_dir / "tgfetch.sqlite3")
    await db.open()
    try:
        user_repo = UserRepo(db, lambda: moment)
        link_repo = LinkRepo(db, lambda: moment)
        for user in users:
            await user_repo.touch(user.user_id, user.first_name, user.username, "en")
        for link in links:
            moment = link.at or dt.datetime.now(dt.UTC) - link.age
            link_id = await link_repo.add(link.user_id, link.url)
            await link_repo.finish(
                link_id, link.outcome, reason=link.reason, size=2048, title="clip.mp4"
            )
        if last_run is not None:
            await MetaRepo(db).set(LAST_RUN_KEY, last_run.isoformat())
    finally:
        await db.close()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
