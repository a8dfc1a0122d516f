"""Issue 16 through a worker (QUEUE_URL): a video past 50 MB goes in parts from the worker, the
front records every part in the cache, and the same link again is answered by the front with
all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.test_parts import PARTS, big_link, big_video, part_calls, uploads, wait_parts
from tests.fakes.bot_api import FakeBotApi
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
