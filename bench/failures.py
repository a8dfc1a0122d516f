"""Past one machine, when something fails (`make bench-scale`; docs/SCALING.md's failure table),
with the default QUEUE_HEARTBEAT_SECONDS (30) and QUEUE_SWEEP_SECONDS (5):

- partition: a worker's Redis connections freeze (through tests/freeze_proxy.py) while it
  uploads an 8 MB file that the Bot API reads at 110 KB/s (issue 25's case); the timeline
  freeze -> the job lost (no beat landed for a heartbeat) -> its send stopped before the last
  byte and the job handed back -> taken by the other worker -> delivered once its claim lapsed;
- Redis restart: Redis stopped for 10 s while a job downloads (its download ends during the
  outage), then started again (its data kept): seconds from its start to the front taking links
  again and to the job's result;
- front restart: the front killed (-9) while a job runs, started again after the worker
  delivered: seconds from the new front's start to the job's result recorded;
- cancel: Cancel pressed on a job downloading on a worker: seconds to "Cancelled" in the chat
  (the worker stopped, its result recorded).

Every case checks that the file arrived exactly once.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.e2e.cluster import Cluster
from tests.e2e.daemon import Daemon
from tests.e2e.test_remote import cancel_data
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer
from tests.fakes.records import UPLOAD_METHODS
from tests.freeze_proxy import FreezeProxy
from tests.redis_server import RedisServer

USER = 9600
MB = 1_000_000


def delivered(api: FakeBotApi) -> int:
    return sum(1 for c in api.calls if c.method in UPLOAD_METHODS and c.ok)


@asynccontextmanager
async def setup(prefix: str) -> AsyncIterator[tuple[Cluster, FakeBotApi, MediaServer]]:
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        root = Path(folder)
        async with (
            RedisServer(root / "redis") as redis,
            FakeBotApi() as api,
            MediaServer() as media,
        ):
            cluster = Cluster(api, redis, root)
            try:
                yield cluster, api, media
            finally:
                await cluster.stop()


async def at(daemon: Daemon, needle: str, since: float) -> float:
    """Seconds from `since` to the daemon's first line with `needle` (waits for it)."""
    await daemon.wait_log(needle, 300)
    return round(time.monotonic() - since, 1)


async def partition_run() -> dict[str, Any]:
    async with (
        setup("tgfetch-partition-") as (cluster, api, media),
        FreezeProxy("127.0.0.1", cluster.redis.port) as proxy,
    ):
        front = await cluster.start_front()
        [cut] = await cluster.start_workers(1, QUEUE_URL=proxy.url)
        api.upload_rate = 110_000
        api.push_message(USER, media.url(f"/file/big.bin?size={8 * MB}"))
        await cluster.wait_taken(1)
        await api.wait_upload_begun("sendDocument", timeout=60)
        [other] = await cluster.start_workers(1)
        proxy.freeze()
        frozen = time.monotonic()
        lost = await at(cut, "job_lost", frozen)
        api.upload_rate = None  # the other worker's upload at full speed
        aborted = await at(cut, "claim_send_stopped", frozen)
        handed_back = await at(cut, "job_handed_back id=1", frozen)
        taken = await at(other, "job_taken id=1 attempt=2", frozen)
        await api.wait_for(lambda _c: delivered(api) >= 1, timeout=300)
        sent = round(time.monotonic() - frozen, 1)
        await front.wait_log("job_reported id=1 state=done", timeout=60)
        assert delivered(api) == 1, f"{delivered(api)} copies"
        proxy.thaw()
    return {
        "case": "partition",
        "job_lost_s": lost,
        "send_stopped_s": aborted,
        "handed_back_s": handed_back,
        "taken_over_s": taken,
        "delivered_s": sent,
    }


async def redis_restart_run() -> dict[str, Any]:
    async with setup("tgfetch-redis-restart-") as (cluster, api, media):
        front = await cluster.start_front()
        await cluster.start_workers(1)
        api.push_message(USER, media.url(f"/file/through.bin?size={MB}&rate=200000"))
        await media.wait_streams(1, timeout=30)
        await cluster.redis.stop()
        await asyncio.sleep(10)  # the outage itself: what is measured is what follows it
        await cluster.redis.start()
        back = time.monotonic()
        reachable = await at(front, "queue_reachable", back)
        reported = await at(front, "job_reported id=1 state=done", back)
        assert delivered(api) == 1, f"{delivered(api)} copies"
    return {"case": "redis_restart", "links_again_s": reachable, "result_read_s": reported}


async def front_restart_run() -> dict[str, Any]:
    async with setup("tgfetch-front-restart-") as (cluster, api, media):
        front = await cluster.start_front()
        await cluster.start_workers(1)
        api.push_message(USER, media.url(f"/file/away.bin?size={2 * MB}&rate=1000000"))
        await cluster.wait_taken(1)
        front.kill()
        await front.wait_exit()
        await api.wait_for(lambda _c: delivered(api) >= 1, timeout=60)
        started = time.monotonic()
        front = await cluster.start_front()
        reported = await at(front, "job_reported id=1 state=done", started)
        assert delivered(api) == 1, f"{delivered(api)} copies"
    return {"case": "front_restart", "result_read_s": reported}


async def cancel_run() -> dict[str, Any]:
    async with setup("tgfetch-cancel-") as (cluster, api, media):
        front = await cluster.start_front()
        await cluster.start_workers(1)
        api.push_message(USER, media.url(f"/file/long.bin?size={4 * MB}&rate=100000"))
        await api.wait_for_text(USER, "Downloading", timeout=60)
        message_id, data = cancel_data(api, USER)
        pressed = time.monotonic()
        api.push_callback(USER, message_id, data)
        await api.wait_for_text(USER, "Cancelled", timeout=30)
        told = round(time.monotonic() - pressed, 2)
        await front.wait_log("job_reported id=1 state=cancelled", timeout=30)
        assert delivered(api) == 0
    return {"case": "cancel", "told_s": told}


CASES = {
    "partition": partition_run,
    "redis_restart": redis_restart_run,
    "front_restart": front_restart_run,
    "cancel": cancel_run,
}


async def failure_runs(repeat: int, cases: list[str] | None = None) -> list[dict[str, Any]]:
    runs = []
    for _ in range(repeat):
        for case in (CASES[name] for name in cases or CASES):
            run = await case()
            print(run, flush=True)
            runs.append(run)
    return runs


if __name__ == "__main__":  # only these: python -m bench.failures [RUNS [CASE ...]]
    import sys

    asyncio.run(failure_runs(int(sys.argv[1]) if len(sys.argv) > 1 else 1, sys.argv[2:]))
