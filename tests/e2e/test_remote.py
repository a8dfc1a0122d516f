"""Past one machine (QUEUE_URL): a real redis-server, the front (`main.py`) and worker processes
(`main.py worker`) against the fake Bot API and media server. Workers deliver straight to
Telegram; the front records and shows."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_files import make_video
from tests.fakes.media_server import MediaServer
from tests.fakes.records import UPLOAD_METHODS, Call
from tests.redis_server import RedisServer

KB = 1000


@pytest.fixture
async def cluster(
    bot_api: FakeBotApi, redis: RedisServer, tmp_path: Path
) -> AsyncIterator[Cluster]:
    running = Cluster(bot_api, redis, tmp_path)
    try:
        yield running
    finally:
        await running.stop()


def uploads(bot_api: FakeBotApi, chat_id: int) -> list[Call]:
    """Every file Telegram accepted into the chat (a second copy would show here)."""
    return [
        c for c in bot_api.calls if c.method in UPLOAD_METHODS and c.ok and c.chat_id == chat_id
    ]


def replies_to(call: Call, message_id: int) -> bool:
    """The file answers the user's message with the link (as in one process)."""
    return call.params.get("reply_parameters") == {
        "message_id": message_id,
        "allow_sending_without_reply": True,
    }


def cancel_data(bot_api: FakeBotApi, chat_id: int) -> tuple[int, str]:
    for message in bot_api.chat(chat_id):
        for button in message.buttons:
            if button["callback_data"].startswith("cancel:"):
                return message.message_id, str(button["callback_data"])
    raise AssertionError(f"no Cancel button in chat {chat_id}")


async def health(daemon: Daemon) -> httpx.Response:
    line = await daemon.wait_log("health_listening")
    port = re.search(r"port=(\d+)", line)
    assert port is not None
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.get(f"http://127.0.0.1:{port.group(1)}/health")


async def test_thirty_links_from_ten_users_spread_over_three_workers_each_delivered_once(
    bot_api: FakeBotApi, media: MediaServer, cluster: Cluster
) -> None:
    front = await cluster.start_front(MAX_JOBS_PER_USER="3")
    workers = await cluster.start_workers(3, DOWNLOAD_WORKERS="2")
    users = [7000 + n for n in range(10)]
    size = 150 * KB
    for n in range(3):
        for user in users:  # 0.5 s each at this rate: the jobs overlap on every worker
            bot_api.push_message(user, media.url(f"/file/u{user}-{n}.bin?size={size}&rate=300000"))
    await bot_api.wait_for(
        lambda _c: all(len(uploads(bot_api, u)) >= 3 for u in users), timeout=90
    )
    await front.wait_lines("job_reported", 30, timeout=30)
    for user in users:
        sent = uploads(bot_api, user)
        names = sorted(str(c.files["document"].filename) for c in sent)
        assert names == [f"u{user}-{n}.bin" for n in range(3)], names
        for call in sent:
            name = str(call.files["document"].filename)
            assert call.files["document"].sha256 == MediaServer.expected_sha256(name, size)
    # Every worker took work; the front fetched nothing itself; every link is recorded.
    for worker in workers:
        assert "job_end id=" in worker.output, worker.output[-2000:]
    assert "http_saved" not in front.output
    assert cluster.links() == {"delivered": 30}
    # Each user's status messages went with the delivery: only the files are left.
    await bot_api.wait_for(lambda _c: all(len(bot_api.chat(u)) == 3 for u in users), timeout=15)


async def test_a_cached_link_is_answered_by_the_front_without_a_worker(
    bot_api: FakeBotApi, media: MediaServer, cluster: Cluster
) -> None:
    forum = -1008001  # the first link comes by /dl in a forum topic: its file goes there
    bot_api.forum(forum)
    topic = bot_api.topic(forum)
    front = await cluster.start_front(ALLOWED_CHATS=str(forum))
    [worker] = await cluster.start_workers(1)
    link = media.url(f"/file/once.bin?size={100 * KB}")
    asked = bot_api.push_message(8001, f"/dl {link}", chat_id=forum, thread_id=topic)
    first = await bot_api.wait_for_file(forum)
    assert first.params["message_thread_id"] == topic  # the topic crossed Redis with the job
    assert replies_to(first, bot_api.message_id_of(asked))
    await front.wait_log("job_reported id=1 state=done")  # the file_id is in the cache now
    bot_api.push_message(8002, link)
    second = await bot_api.wait_for_file(8002)
    assert not second.files  # sent by file_id: the file Telegram already has
    assert second.params["document"] == bot_api.chat(forum)[-1].file_id
    assert first.files["document"].filename == "once.bin"
    await front.wait_log("route=cache")
    assert worker.output.count("job_taken") == 1


async def test_a_worker_replies_to_the_link_and_says_how_many_more_videos_even_from_cache(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, cluster: Cluster
) -> None:
    await asyncio.to_thread(make_video, media_dir / "two.mp4", 1)
    front = await cluster.start_front()
    [worker] = await cluster.start_workers(1)
    video = quote(media.url("/static/two.mp4?n=1"), safe="")
    second = quote(media.url("/static/two.mp4?n=2"), safe="")
    link = media.url(f"/page/watch?video={video}&video2={second}&title=Two")
    update = bot_api.push_message(8601, link)
    call = await bot_api.wait_for_file(8601, timeout=60)
    assert replies_to(call, bot_api.message_id_of(update))  # sent by the worker
    await bot_api.wait_for_text(8601, "it has 1 more video.", timeout=15)  # shown by the front
    await front.wait_log("job_reported id=1 state=done")
    # The front answers the same link from its cache: a reply too, with the same note.
    again = bot_api.push_message(8602, link)
    cached = await bot_api.wait_for_file(8602, timeout=30)
    assert not cached.files
    assert replies_to(cached, bot_api.message_id_of(again))
    await bot_api.wait_for_text(8602, "it has 1 more video.", timeout=15)
    assert worker.output.count("job_taken") == 1


async def test_kill_9_of_the_worker_holding_a_slow_job_is_delivered_once_by_another(
    bot_api: FakeBotApi, media: MediaServer, cluster: Cluster
) -> None:
    # The heartbeat is a setting of each job, which the front enqueues: both read it.
    quick = {"QUEUE_HEARTBEAT_SECONDS": "3", "QUEUE_SWEEP_SECONDS": "1"}
    await cluster.start_front(**quick)
    await cluster.start_workers(2, DOWNLOAD_WORKERS="1", **quick)
    size = 300 * KB  # 3 s at this rate: the worker dies mid-download
    update = bot_api.push_message(8101, media.url(f"/file/slow.bin?size={size}&rate=100000"))
    holder = await cluster.wait_taken(1)
    await media.wait_streams(1, timeout=30)
    holder.kill()
    call = await bot_api.wait_for_file(8101, timeout=60)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("slow.bin", size)
    assert replies_to(call, bot_api.message_id_of(update))  # the second attempt's too
    other = cluster.holder(1, attempt=2)
    assert other is not None and other is not holder
    await other.wait_log("job_end id=1 outcome=delivered")
    await bot_api.wait_for(lambda _c: len(bot_api.chat(8101)) == 1, timeout=15)
    assert len(uploads(bot_api, 8101)) == 1
    assert cluster.links() == {"delivered": 1}


async def test_cancel_stops_the_job_on_the_worker_that_holds_it(
    bot_api: FakeBotApi, media: MediaServer, cluster: Cluster
) -> None:
    front = await cluster.start_front()
    [worker] = await cluster.start_workers(1, DOWNLOAD_WORKERS="1")
    bot_api.push_message(8201, media.url("/file/long.bin?size=5000000&rate=50000"))
    await bot_api.wait_for_text(8201, "Downloading", timeout=30)  # the front shows progress
    message_id, data = cancel_data(bot_api, 8201)
    bot_api.push_callback(8201, message_id, data)
    await bot_api.wait_for_text(8201, "Cancelled", timeout=15)
    await media.wait_streams(0, timeout=5)
    await worker.wait_log("job_end id=1 outcome=cancelled")
    # The worker's only slot is free again.
    bot_api.push_message(8202, media.url(f"/file/next.bin?size={50 * KB}"))
    await bot_api.wait_for_file(8202, timeout=30)
    await front.wait_log("job_reported id=2 state=done")
    assert not uploads(bot_api, 8201)
    assert cluster.links() == {"cancelled": 1, "delivered": 1}


async def test_the_front_killed_and_started_again_mid_run_loses_nothing(
    bot_api: FakeBotApi, media: MediaServer, cluster: Cluster
) -> None:
    front = await cluster.start_front()
    workers = await cluster.start_workers(2, DOWNLOAD_WORKERS="2")
    users = [8301, 8302]
    size = 300 * KB  # 3 s each: the front dies while all four download
    for user in users:
        for n in range(2):
            bot_api.push_message(user, media.url(f"/file/r{user}-{n}.bin?size={size}&rate=100000"))
    for job_id in range(1, 5):
        await cluster.wait_taken(job_id)
    front.kill()
    await front.wait_exit()
    # The workers go on without the front, and deliver.
    await bot_api.wait_for(
        lambda _c: all(len(uploads(bot_api, u)) == 2 for u in users), timeout=60
    )
    bot_api.push_message(8303, media.url(f"/file/while-away.bin?size={50 * KB}"))
    front = await cluster.start_front()
    await bot_api.wait_for_file(8303, timeout=30)
    await front.wait_lines("job_reported", 5, timeout=30)
    assert cluster.links() == {"delivered": 5}
    for user in users:
        assert len(uploads(bot_api, user)) == 2

    # Every status message the front knew of went once its job's outcome was recorded (one
    # whose id the killed front had not saved yet may stay: kill -9 forgets that much).
    def shown(chat: int, message: int) -> bool:
        return any(m.message_id == message for m in bot_api.chat(chat))

    await bot_api.wait_for(
        lambda _c: not any(shown(*known) for known in cluster.status_messages()), timeout=15
    )
    for user in [*users, 8303]:
        assert not [m.content for m in bot_api.chat(user) if "❌" in m.content or "✖" in m.content]
    assert sum(w.output.count("job_end") for w in workers) == 5


async def test_redis_stopped_and_started_again(
    bot_api: FakeBotApi, media: MediaServer, redis: RedisServer, cluster: Cluster
) -> None:
    front = await cluster.start_front()
    [worker] = await cluster.start_workers(1, HEALTH_PORT="0")
    size = 300 * KB  # 3 s: its download runs on through the outage
    bot_api.push_message(8401, media.url(f"/file/through.bin?size={size}&rate=100000"))
    await media.wait_streams(1, timeout=30)
    await redis.stop()
    bot_api.push_message(8402, media.url(f"/file/refused.bin?size={50 * KB}"))
    await bot_api.wait_for_text(8402, "Downloads are unavailable", timeout=15)
    await worker.wait_log("queue_unreachable", timeout=15)
    down = await health(worker)
    assert down.status_code == 503
    assert json.loads(down.text)["queue"] == "unreachable"
    await media.wait_streams(0, timeout=30)  # downloaded; its send waits for its claim
    assert worker.alive and front.alive
    await redis.start()
    # The job goes on where it was: sent once, and recorded once the front reads again.
    await bot_api.wait_for_file(8401, timeout=30)
    await front.wait_log("queue_reachable", timeout=30)
    await front.wait_log("job_reported id=1 state=done", timeout=30)
    bot_api.push_message(8402, media.url(f"/file/refused.bin?size={50 * KB}"))
    await bot_api.wait_for_file(8402, timeout=30)
    await front.wait_log("job_reported id=3 state=done", timeout=30)
    await worker.wait_log("queue_reachable", timeout=30)
    assert (await health(worker)).status_code == 200
    assert len(uploads(bot_api, 8401)) == 1
    assert cluster.links() == {"delivered": 2}


async def test_the_user_picks_a_format_and_the_worker_that_asked_gets_it(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, cluster: Cluster
) -> None:
    await asyncio.to_thread(make_video, media_dir / "clip.mp4", 2)
    await cluster.start_front(CHOICE_TIMEOUT_SECONDS="60")
    await cluster.start_workers(1, CHOICE_TIMEOUT_SECONDS="60")
    video = quote(media.url("/static/clip.mp4"), safe="")
    bot_api.push_message(8501, media.url(f"/page/watch?video={video}&title=Clip"))
    question = await bot_api.wait_for_text(8501, "What would you like", timeout=30)
    audio = next(
        b["callback_data"] for b in question.buttons if b["callback_data"].endswith(":audio")
    )
    bot_api.push_callback(8501, question.message_id, audio)
    call = await bot_api.wait_for_file(8501, timeout=60)
    assert call.method == "sendAudio"


async def test_a_link_a_site_refuses_for_now_waits_at_the_front_through_its_restart(
    bot_api: FakeBotApi, media: MediaServer, cluster: Cluster
) -> None:
    # A window of 54 s: tries after 0.54 s, doubling, at most 6.75 s apart.
    parking = {"PARK_RETRY_HOURS": "0.015", "MAX_JOBS_PER_USER": "1"}
    media.refuse("later.bin", 429)
    front = await cluster.start_front(**parking)
    [worker] = await cluster.start_workers(1, **parking)
    user, size = 8701, 60 * KB
    update = bot_api.push_message(user, media.url(f"/file/later.bin?size={size}"))
    parked = await bot_api.wait_for_text(user, "refusing the bot for now", timeout=30)
    assert "too many requests" in parked.content
    assert [b["callback_data"] for b in parked.buttons] == ["cancel:1"]
    bot_api.push_message(user, media.url("/file/other.bin?size=10"))  # its slot stays taken
    await bot_api.wait_for_text(user, "You already have 1 download going", timeout=15)
    # The front sends it back at its time, the worker is refused again, and it waits again.
    await worker.wait_lines("job_parked id=1 reason=rate_limited", 2, timeout=30)
    await front.stop()
    media.refuse("later.bin", None)
    front = await cluster.start_front(**parking)
    call = await bot_api.wait_for_file(user, timeout=60)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("later.bin", size)
    assert replies_to(call, bot_api.message_id_of(update))
    await front.wait_log("job_reported id=1 state=done", timeout=30)
    assert len(uploads(bot_api, user)) == 1
    assert cluster.links() == {"delivered": 1}

    # Told once, in the one status message, which went with the file.
    def told(method: str) -> list[Call]:
        calls = bot_api.calls_of(method, user)
        return [c for c in calls if "refusing" in str(c.params.get("text"))]

    assert len(told("sendMessage")) <= 1
    assert {c.params["message_id"] for c in told("editMessageText")} <= {parked.message_id}
    await bot_api.wait_for(
        lambda _c: not any("refusing" in m.content for m in bot_api.chat(user)), timeout=15
    )
