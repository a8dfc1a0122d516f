"""A page with several videos, all of them (issue 16): the question offers "all N", the items
arrive as albums of up to ten (sendMediaGroup), a broken item is reported while the others
arrive, and a cancel in the middle stops the rest."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.media_files import make_video
from tests.fakes.media_server import MediaServer
from tests.fakes.records import ChatMessage

# Against Telegram's flood limits (albums send several messages into one chat), and no call
# into a running retry_after (the fixture fails the test): tests/fakes/flood.py.
pytestmark = pytest.mark.flood

USER = 16100
VIDEOS = 12


@pytest.fixture
async def clips(media_dir: Path) -> list[str]:
    """Twelve short videos under /static/ (one made, copied: each its own file)."""
    first = await asyncio.to_thread(make_video, media_dir / "v01.mp4", 1, 160, 120)
    names = [first.name]
    for n in range(2, VIDEOS + 1):
        name = f"v{n:02d}.mp4"
        await asyncio.to_thread(shutil.copyfile, first, media_dir / name)
        names.append(name)
    return names


def page_of(media: MediaServer, urls: list[str]) -> str:
    query = "&".join(f"video={quote(url, safe='')}" for url in urls)
    return media.url(f"/page/list?title=Holiday&{query}")


async def pick_all(bot_api: FakeBotApi, user: int) -> ChatMessage:
    question = await bot_api.wait_for_text(user, "This is a playlist", timeout=30)
    data = next(
        b["callback_data"] for b in question.buttons if b["callback_data"].endswith(":all")
    )
    bot_api.push_callback(user, question.message_id, data)
    return question


def albums(bot_api: FakeBotApi, user: int) -> list[Call]:
    return [c for c in bot_api.calls_of("sendMediaGroup", user) if c.ok]


async def test_all_items_arrive_as_albums_and_a_broken_one_is_reported(
    bot_api: FakeBotApi,
    media: MediaServer,
    start_daemon: StartDaemon,
    clips: list[str],
    tmp_path: Path,
) -> None:
    bot_api.save_dir = tmp_path / "uploads"
    bot_api.save_dir.mkdir()
    bot_api.check_videos = True
    urls = [media.url(f"/static/{name}") for name in clips]
    urls.insert(4, media.url("/static/missing.mp4"))  # item 5 of 13: not there (404)
    daemon = await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    bot_api.push_message(USER, page_of(media, urls))
    question = await pick_all(bot_api, USER)
    assert "Holiday" in question.content
    assert any("All 13 items" in b["text"] for b in question.buttons)

    report = await bot_api.wait_for_text(USER, "could not be sent", timeout=90)
    assert "5." in report.content
    assert "error 404" in report.content
    sent = albums(bot_api, USER)
    assert [len(c.params["media"]) for c in sent] == [10, 2]
    assert all(item["type"] == "video" for c in sent for item in c.params["media"])
    # Each item keeps its own caption; every file played at the fake (check_videos).
    assert all(item.get("caption") for c in sent for item in c.params["media"])
    videos = [m for m in bot_api.chat(USER) if m.kind == "video"]
    assert len(videos) == VIDEOS
    assert not bot_api.calls_of("sendVideo", USER)
    await daemon.wait_log("job_end id=1 outcome=delivered")

    # The history counts the files that went, not the items asked for (13, one broken).
    bot_api.push_message(USER, "/history")
    history = await bot_api.wait_for_text(USER, "Your links")
    assert f"· {VIDEOS} files" in history.content


async def test_cancel_in_the_middle_of_a_playlist_stops_the_rest(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, clips: list[str]
) -> None:
    urls = [media.url(f"/static/{name}") for name in clips[:10]]
    # Item 11 streams slowly (2 MB at 100 KB/s): the cancel comes while it downloads.
    urls += [media.url("/file/slow.mp4?size=2000000&rate=100000"), media.url("/static/v12.mp4")]
    daemon = await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    bot_api.push_message(USER, page_of(media, urls))
    await pick_all(bot_api, USER)
    status = await bot_api.wait_for_text(USER, "Item 11 of 12", timeout=60)
    assert len(albums(bot_api, USER)) == 1  # the first ten went as one album
    cancel = next(
        b["callback_data"] for b in status.buttons if b["callback_data"].startswith("cancel:")
    )
    bot_api.push_callback(USER, status.message_id, cancel)
    await bot_api.wait_for_text(USER, "Cancelled", timeout=30)
    await daemon.wait_log("job_end id=1 outcome=cancelled")
    await media.wait_streams(0, timeout=10)
    assert len(albums(bot_api, USER)) == 1
    assert not bot_api.calls_of("sendVideo", USER)
    assert not bot_api.calls_of("sendDocument", USER)


async def test_the_same_playlist_again_comes_from_the_cache(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, clips: list[str]
) -> None:
    link = page_of(media, [media.url(f"/static/{name}") for name in clips[:3]])
    daemon = await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    bot_api.push_message(USER, link)
    await pick_all(bot_api, USER)
    await daemon.wait_log("job_end id=1 outcome=delivered")
    [first] = albums(bot_api, USER)
    fetched = media.bytes_served(".mp4")

    bot_api.push_message(USER + 1, link)
    await pick_all(bot_api, USER + 1)
    await daemon.wait_log("job_end id=2 outcome=delivered")
    [again] = albums(bot_api, USER + 1)
    assert not again.files  # by file_id: nothing uploaded
    ids = [m.file_id for m in bot_api.chat(USER) if m.kind == "video"]
    assert [item["media"] for item in again.params["media"]] == ids
    assert len(first.params["media"]) == 3
    assert media.bytes_served(".mp4") == fetched  # nothing fetched again


async def test_a_restart_mid_playlist_sends_only_what_had_not_gone(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, clips: list[str]
) -> None:
    urls = [media.url(f"/static/{name}") for name in clips[:10]]
    # Item 11 streams for 6 s: the restart comes while it downloads, after the first album.
    urls += [media.url("/file/slow.bin?size=600000&rate=100000"), media.url("/static/v12.mp4")]
    first = await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    bot_api.push_message(USER, page_of(media, urls))
    await pick_all(bot_api, USER)
    await bot_api.wait_for_text(USER, "Item 11 of 12", timeout=60)
    assert [len(c.params["media"]) for c in albums(bot_api, USER)] == [10]
    first.signal()
    assert await first.wait_exit(30) == 0

    second = await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    await second.wait_log("playlist_items id=1 items=12 sent_before=10", timeout=30)
    await second.wait_log("job_end id=1 outcome=delivered", timeout=60)
    # The first ten are not sent again; item 11 (not a video) and 12 go on their own.
    assert [len(c.params["media"]) for c in albums(bot_api, USER)] == [10]
    assert len([c for c in bot_api.calls_of("sendDocument", USER) if c.ok]) == 1
    assert len([c for c in bot_api.calls_of("sendVideo", USER) if c.ok]) == 1
    assert len([m for m in bot_api.chat(USER) if m.kind == "video"]) == VIDEOS - 1
