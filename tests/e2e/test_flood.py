"""Telegram's flood control (the fake enforces it: tests/fakes/flood.py): a burst from many
users is delivered once each at the pace Telegram allows, a quick link costs one call, and a
refusal never waits behind a flood, nor lets its update through."""

from __future__ import annotations

import html

import pytest

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer
from tests.fakes.records import UPLOAD_METHODS

pytestmark = pytest.mark.flood  # and the fixture fails the test on any call into a retry_after

USERS, PER_USER = 10, 4
FIRST = 7001
SIZE = 20_000


def chat_calls(bot_api: FakeBotApi, after: int = 0) -> list[str]:
    return [c.method for c in bot_api.calls[after:] if c.chat_id is not None]


async def test_a_burst_of_links_from_many_users_arrives_once_each_at_telegrams_pace(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon(DOWNLOAD_WORKERS="2", MAX_JOBS_PER_USER=str(PER_USER))
    # One link alone: its file is its whole answer (no status message, nothing to delete).
    bot_api.push_message(FIRST - 1, media.url(f"/file/alone.bin?size={SIZE}"))
    await bot_api.wait_for_file(FIRST - 1)
    assert chat_calls(bot_api) == ["sendDocument"]

    mark = bot_api.mark()
    links = {
        (FIRST + user, media.url(f"/file/b{user}-{n}.bin?size={SIZE}"))
        for n in range(PER_USER)
        for user in range(USERS)
    }
    for user, url in sorted(links, key=lambda link: link[1].rsplit("-", 1)[-1]):
        bot_api.push_message(user, url)

    def delivered() -> list[tuple[int, str]]:
        return [
            (int(str(c.chat_id)), url)
            for c in bot_api.calls[mark:]
            if c.method in UPLOAD_METHODS and c.ok
            for url in (html.escape(u, quote=True) for _, u in links)
            if url in str(c.params.get("caption", ""))
        ]

    await bot_api.wait_for(lambda _c: len(delivered()) >= len(links), timeout=60, after=mark)
    assert sorted(delivered()) == sorted((u, html.escape(url, quote=True)) for u, url in links)
    calls = chat_calls(bot_api, mark)
    assert len(calls) <= 2 * len(links), calls  # no edit per queue movement
    for user in range(USERS):  # no status message left behind
        assert all(m.file is not None for m in bot_api.chat(FIRST + user))


async def test_a_refusal_gives_up_behind_a_flood_and_its_update_reaches_no_handler(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    refused, allowed = 7101, 7102
    daemon = await start_daemon(ALLOWED_USERS=str(allowed), LOG_LEVEL="DEBUG")
    # Telegram floods the refused user's chat for a minute: the refusal's reply gets a 429.
    bot_api.fail_next("sendMessage", 429, retry_after=60)
    update = bot_api.push_message(refused, media.url(f"/file/refused.bin?size={SIZE}"))
    await daemon.wait_log(f"update_done update={update}", timeout=15)  # 5 s, not a minute
    assert "refusal_unsent why=not_allowed" in daemon.output
    # Another chat is not held up by that chat's flood.
    bot_api.push_message(allowed, media.url(f"/file/allowed.bin?size={SIZE}"))
    await bot_api.wait_for_file(allowed)
    assert "job_submitted" not in "".join(
        line for line in daemon.lines if f"user={refused}" in line
    )
    assert [c.status for c in bot_api.calls_of("sendMessage", refused)] == [429]
    assert bot_api.sent_files(refused) == []
