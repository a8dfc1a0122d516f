"""Issue 16 through a worker (QUEUE_URL): a video past 50 MB goes in parts from the worker, the
front records every part in the cache, and the same link again is answered by the front with
all of them; a playlist goes as an album from the worker, and from the front's cache again."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.test_parts import PARTS, big_link, big_video, part_calls, uploads, wait_parts
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_files import make_video
from tests.fakes.media_server import MediaServer
from tests.redis_server import RedisServer

__all__ = ["big_link", "big_video", "uploads"]  # fixtures this module uses, from test_parts

USER = 16200


@pytest.fixture
async def cluster(
    bot_api: FakeBotApi, redis: RedisServer, tmp_path: Path
) -> AsyncIterator[Cluster]:
    running = Cluster(bot_api, redis, tmp_path)
    try:
        yield running
    finally:
        await running.stop()


async def test_a_worker_sends_the_parts_and_the_front_caches_them_all(
    bot_api: FakeBotApi, cluster: Cluster, big_link: str, uploads: Path
) -> None:
    front = await cluster.start_front()
    await cluster.start_workers(1)
    bot_api.push_message(USER, big_link)
    calls = await wait_parts(bot_api, USER, PARTS)
    await front.wait_log("job_reported id=1 state=done")
    assert [f"Part {n} of {PARTS}" in c.params["caption"] for n, c in enumerate(calls, 1)] == [
        True
    ] * PARTS
    assert all(c.files["video"].size < 50 * 1024 * 1024 for c in calls)

    bot_api.push_message(USER + 1, big_link)
    again = await wait_parts(bot_api, USER + 1, PARTS)
    assert [c.files for c in again] == [{}, {}, {}]  # by file_id, from the front's cache
    assert len(part_calls(bot_api, USER)) == PARTS


async def test_a_worker_sends_a_whole_playlist(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, cluster: Cluster
) -> None:
    clip = await asyncio.to_thread(make_video, media_dir / "c1.mp4", 1, 160, 120)
    names = [clip.name]
    for n in (2, 3):
        await asyncio.to_thread(shutil.copyfile, clip, media_dir / f"c{n}.mp4")
        names.append(f"c{n}.mp4")
    query = "&".join(f"video={quote(media.url(f'/static/{n}'), safe='')}" for n in names)
    front = await cluster.start_front(CHOICE_TIMEOUT_SECONDS="60")
    await cluster.start_workers(1, CHOICE_TIMEOUT_SECONDS="60")
    bot_api.push_message(USER, media.url(f"/page/list?title=Trip&{query}"))
    question = await bot_api.wait_for_text(USER, "This is a playlist", timeout=60)
    [data] = [b["callback_data"] for b in question.buttons if b["callback_data"][-4:] == ":all"]
    bot_api.push_callback(USER, question.message_id, data)
    await front.wait_log("job_reported id=1 state=done", timeout=60)
    assert len([m for m in bot_api.chat(USER) if m.kind == "video"]) == len(names)
    # One album, as in one process: the Redis ledger keeps an album's answers as one part.
    [album] = [c for c in bot_api.calls_of("sendMediaGroup", USER) if c.ok]
    assert len(album.params["media"]) == len(names)

    # The same playlist from someone else: the front answers it from the cache, one album.
    bot_api.push_message(USER + 1, media.url(f"/page/list?title=Trip&{query}"))
    question = await bot_api.wait_for_text(USER + 1, "This is a playlist", timeout=60)
    [data] = [b["callback_data"] for b in question.buttons if b["callback_data"][-4:] == ":all"]
    bot_api.push_callback(USER + 1, question.message_id, data)
    await bot_api.wait_for(
        lambda c: c.method == "sendMediaGroup" and c.ok and c.chat_id == USER + 1, timeout=60
    )
