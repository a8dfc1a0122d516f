"""A worker cut off from Redis mid-upload (issue 25): its Redis connections freeze (open, nothing
passes) through a proxy while Telegram still reads its file. It must not complete the send
under a claim it can no longer confirm; another worker takes the job over and the user gets
the file exactly once, and an answer."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cluster import Cluster
from tests.e2e.test_remote import replies_to, uploads
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer
from tests.freeze_proxy import FreezeProxy
from tests.redis_server import RedisServer

KB = 1000
USER = 8701


async def test_a_worker_cut_off_mid_upload_stops_and_another_delivers_once(
    bot_api: FakeBotApi, media: MediaServer, redis: RedisServer, tmp_path: Path
) -> None:
    # Short timers (each job carries the heartbeat the front enqueued it with): the claim's
    # lease is twice the heartbeat, 6 s.
    quick = {"QUEUE_HEARTBEAT_SECONDS": "3", "QUEUE_SWEEP_SECONDS": "1"}
    # Telegram reads the file for about 16 s: the sockets' buffers take the first ~7 MB at once,
    # so its last byte would reach the claim's fence about 9 s after the upload began.
    bot_api.upload_rate = 1000 * KB
    size = 16_000 * KB
    async with FreezeProxy("127.0.0.1", redis.port) as proxy:
        cluster = Cluster(bot_api, redis, tmp_path)
        try:
            front = await cluster.start_front(**quick)
            [cut] = await cluster.start_workers(1, QUEUE_URL=proxy.url, **quick)
            update = bot_api.push_message(USER, media.url(f"/file/cut.bin?size={size}"))
            await cluster.wait_taken(1)
            await bot_api.wait_upload_begun("sendDocument", timeout=30)
            proxy.freeze()
            [other] = await cluster.start_workers(1, **quick)
            # The cut-off worker can neither touch its job nor renew its claim: it stops the
            # send before its last byte, and the job, which the other worker runs again.
            await cut.wait_log("job_handed_back id=1", timeout=30)
            bot_api.upload_rate = None
            await front.wait_log("job_reported id=1 state=done", timeout=90)
            assert cluster.holder(1, attempt=2) is other
            [call] = uploads(bot_api, USER)
            assert call.files["document"].sha256 == MediaServer.expected_sha256("cut.bin", size)
            assert replies_to(call, bot_api.message_id_of(update))
            # Telegram saw the first upload hang up unfinished; the user has the file alone.
            await bot_api.wait_for(lambda c: c.method == "sendDocument" and c.status == 499, 30)
            sends = [c.status for c in bot_api.calls_of("sendDocument")]
            assert sorted(sends) == [200, 499], sends
            await bot_api.wait_for(lambda _c: len(bot_api.chat(USER)) == 1, timeout=15)
            assert cluster.links() == {"delivered": 1}
            # The partition heals: what the cut-off worker sent meanwhile changes nothing, and
            # it works on.
            proxy.thaw()
            await cut.wait_log("queue_reachable", timeout=30)
            bot_api.upload_rate = None
            bot_api.push_message(USER + 1, media.url(f"/file/after.bin?size={50 * KB}"))
            await front.wait_log("job_reported id=2 state=done", timeout=30)
            assert len(uploads(bot_api, USER)) == 1
            assert cluster.links() == {"delivered": 2}
        finally:
            await cluster.stop()
