"""yt-dlp against a hostile server: bodies are capped and every blocking call answers a stop.

yt-dlp runs in a worker thread as in the bot; the hostile server runs on the test's loop.
Its socket timeout is a minute, so only the stop can end these calls within the test.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.download.cancel import CancelToken, StoppedError, StopReason
from bot.download.decoding import BodyDecoder
from bot.download.safety import UrlGuard
from bot.download.ytdlp_body import BoundedBody
from bot.download.ytdlp_guard import JobNet, find_fetch_error, guarded_youtube_dl
from bot.model.failures import FailureReason
from tests.fakes.hostile import HostileServer

MB = 1024 * 1024
STOPPED_WITHIN_S = 5  # a detector of workers that do not stop, not a measure (see bench/)


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    async with HostileServer() as server:
        yield server


@pytest.fixture
def lookups() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2, thread_name_prefix="lookup") as pool:
        yield pool


def run_ydl(
    call: Callable[[Any], Any], token: CancelToken, lookups: ThreadPoolExecutor, **guard: Any
) -> asyncio.Future[BaseException | None]:
    """Run `call(ydl)` in a thread; the future holds what it raised (None if nothing)."""
    params = {"quiet": True, "no_warnings": True, "socket_timeout": 60, "retries": 0}
    url_guard = UrlGuard(guard.pop("allow_private", True), **guard)

    def work() -> BaseException | None:
        net = JobNet(token, 1 * MB, lookups)
        try:
            with guarded_youtube_dl(params, url_guard, net) as ydl:
                call(ydl)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            return exc
        return None

    return asyncio.ensure_future(asyncio.to_thread(work))


async def stop_and_wait(token: CancelToken, thread: asyncio.Future[BaseException | None]) -> Any:
    token.cancel(StopReason.CANCELLED)
    return await asyncio.wait_for(thread, STOPPED_WITHIN_S)


def extract(url: str) -> Callable[[Any], Any]:
    return lambda ydl: ydl.extract_info(url, download=False)


async def test_headers_that_trickle_in_are_cut_short_by_a_stop(
    hostile: HostileServer, lookups: ThreadPoolExecutor
) -> None:
    token = CancelToken()
    thread = run_ydl(extract(hostile.url("/slowloris?every=0.2")), token, lookups)
    await hostile.wait_requests("/slowloris", 1)
    error = await stop_and_wait(token, thread)
    assert error is not None
    await hostile.wait_all_closed(timeout=5)


async def test_an_endless_slow_page_is_cut_short_by_a_stop(
    hostile: HostileServer, lookups: ThreadPoolExecutor
) -> None:
    token = CancelToken()
    thread = run_ydl(extract(hostile.url("/endless.html?rate=20000")), token, lookups)
    await hostile.wait_requests("/endless.html", 1)  # reading its head or its body: both stop
    await stop_and_wait(token, thread)
    await hostile.wait_all_closed(timeout=5)


async def test_the_job_deadline_is_checked_between_reads(
    hostile: HostileServer, lookups: ThreadPoolExecutor
) -> None:
    token = CancelToken()
    token.expire_in(0.5)
    thread = run_ydl(extract(hostile.url("/endless.html?rate=20000")), token, lookups)
    await asyncio.wait_for(thread, STOPPED_WITHIN_S)
    assert token.reason is StopReason.TIMEOUT
    await hostile.wait_all_closed(timeout=5)


@pytest.mark.parametrize("path", ["/endless.html", "/bomb.html"])
async def test_a_page_past_the_cap_fails_without_being_held(
    path: str, hostile: HostileServer, lookups: ThreadPoolExecutor
) -> None:
    tracemalloc.start()
    try:
        error = await run_ydl(extract(hostile.url(path)), CancelToken(), lookups)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error is not None
    found = find_fetch_error(error)
    assert found is not None
    assert found.reason is FailureReason.PAGE_TOO_LARGE
    assert peak < 12 * MB  # a 1 MB cap (joined once) and yt-dlp's own, not the page
    await hostile.wait_all_closed(timeout=5)


async def test_a_stalled_dns_lookup_does_not_hold_the_worker(
    hostile: HostileServer, lookups: ThreadPoolExecutor, tmp_path: Path
) -> None:
    release, asked = threading.Event(), threading.Event()

    def stalled(host: str, port: int) -> list[str]:
        asked.set()
        release.wait()
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    token = CancelToken()
    thread = run_ydl(
        extract("http://stalled.test/page"),
        token,
        lookups,
        allow_private=False,
        resolve_sync=stalled,
    )
    await asyncio.to_thread(asked.wait)
    await stop_and_wait(token, thread)
    release.set()  # the lookup itself ends in its own pool, bounded by the resolver


async def test_a_stopped_read_is_a_stop_not_a_short_page(hostile: HostileServer) -> None:
    # Shutting the socket down ends a blocked read with what looks like the end of the body;
    # taken for it, yt-dlp would go on with half a page. It must raise instead.
    port = int(hostile.url("/").split(":")[2].split("/")[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/endless.html?rate=20000")
    sock = conn.sock  # as ytdlp_net keeps it: http.client lets go of it once the head is in
    assert sock is not None
    response = await asyncio.to_thread(conn.getresponse)
    token = CancelToken()
    checks, reading_on = 0, threading.Event()

    def check() -> None:
        nonlocal checks
        checks += 1
        if checks == 3:  # two chunks in: the loop is waiting on the next one
            reading_on.set()
        token.check()

    body = BoundedBody(response, BodyDecoder([]), check, 64 * MB)
    token.on_stop(lambda: sock.shutdown(socket.SHUT_RDWR))
    reading = asyncio.ensure_future(asyncio.to_thread(body.read))
    await asyncio.to_thread(reading_on.wait)
    token.cancel(StopReason.CANCELLED)
    with pytest.raises(StoppedError):
        await asyncio.wait_for(reading, STOPPED_WITHIN_S)
    assert body.closed
    conn.close()
    await hostile.wait_all_closed(timeout=5)
