"""Issue 18's figures: plain links against a `curl` floor, memory over 200 links, resume.

The floor is what the machine does with no bot at all: `curl` downloads the same file from the
media server and `curl -F` uploads it to the fake Bot API, one after the other. The bot's time
is from the user's message pushed to the fake having read and hashed the whole upload.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.measures import Findings, idle_rss
from bench.report import machine, now, progress, say, write
from bench.stack import Stack, is_upload_to, wait_log_count
from bench.stats import median
from tests.e2e.daemon import Daemon
from tests.e2e.procfs import MB
from tests.fakes.flood import FloodRules
from tests.fakes.media_server import MediaServer

DIRECT_SIZE, DIRECT_REPS = 5 * MB, 7
SMALL_SIZE, SMALL_LINKS, PARALLEL = 64 * 1024, 200, 4
RESUME_SIZE, RESUME_RATE, RESUME_AT = 200 * MB, 40_000_000, 0.9
# The media server at 20 MB/s, the Bot API taking 10 MB/s; 45 MB fits the Bot API's 50 MB.
STREAM_SIZE, STREAM_FETCH_RATE, STREAM_SEND_RATE = 45 * MB, 20_000_000, 10_000_000
JOB_TIMEOUT = 120.0
TOOL_TIMEOUT = 60.0


async def _curl(*args: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        "curl",
        "--silent",
        "--show-error",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(TOOL_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"curl exited {process.returncode}: {err.decode()[-300:]}")
    return out


async def curl_pair(stack: Stack, url: str, chat_id: int, folder: Path) -> float:
    """Seconds for `curl` to download `url` and then upload it with `curl -F` as a document."""
    path = folder / f"{chat_id}-{time.monotonic_ns()}.bin"
    began = time.monotonic()
    await _curl("--output", str(path), url)
    code = await _curl(
        *("--output", "/dev/null", "--write-out", "%{http_code}"),
        *("-F", f"chat_id={chat_id}", "-F", f"document=@{path}"),
        f"{stack.api.url}/bot{stack.api.token}/sendDocument",
    )
    spent = time.monotonic() - began
    path.unlink()
    if code.strip() != b"200":
        raise RuntimeError(f"curl upload answered HTTP {code.decode()}")
    return spent


async def bot_delivery(stack: Stack, user: int, url: str, expected: str) -> float:
    """Seconds from the link pushed to the bot's upload answered at the fake (checked intact)."""
    mark = stack.api.mark()
    began = time.monotonic()
    stack.api.push_message(user, url)
    call, done = await stack.call_seen(is_upload_to(user), JOB_TIMEOUT, after=mark)
    if call.files["document"].sha256 != expected:
        raise RuntimeError("the bot's upload does not match the file")
    return done - began


async def direct(stack: Stack, daemon: Daemon, found: Findings) -> None:
    """A 5 MB plain link: the bot against the curl floor, alternating, medians of the runs."""
    bot, floor = [], []
    with tempfile.TemporaryDirectory(prefix="tgfetch-curl-") as scratch:
        for rep in range(DIRECT_REPS):
            name = f"direct{rep}.bin"
            url = stack.media.url(f"/file/{name}?size={DIRECT_SIZE}")
            expected = MediaServer.expected_sha256(name, DIRECT_SIZE)
            jobs = _jobs_ended(daemon)
            for who in ("bot", "curl") if rep % 2 == 0 else ("curl", "bot"):
                if who == "bot":
                    bot.append(await bot_delivery(stack, 80_001 + rep, url, expected))
                    await wait_log_count(daemon, "job_end", jobs + 1, JOB_TIMEOUT)
                else:
                    floor.append(await curl_pair(stack, url, 81_001 + rep, Path(scratch)))
    # The first run pays for imports done lazily; it is kept in the details, not the median.
    found.metrics["direct_5mb_ms"] = median(bot[1:]) * 1000
    found.metrics["direct_5mb_ratio"] = median(bot[1:]) / median(floor[1:])
    found.details["direct"] = {
        "size_mb": DIRECT_SIZE // MB,
        "bot_runs_ms": [round(t * 1000, 1) for t in bot],
        "curl_runs_ms": [round(t * 1000, 1) for t in floor],
        "curl_median_ms": round(median(floor[1:]) * 1000, 1),
    }


async def _four_at_a_time(work: Callable[[int, int], Awaitable[None]]) -> float:
    """Runs work(lane, n) for n in 0..SMALL_LINKS-1 on PARALLEL lanes; returns the seconds."""
    queue = list(range(SMALL_LINKS))
    queue.reverse()

    async def lane(index: int) -> None:
        while queue:
            await work(index, queue.pop())

    began = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for index in range(PARALLEL):
            group.create_task(lane(index))
    return time.monotonic() - began


async def small_links(
    stack: Stack, daemon: Daemon, found: Findings, prefix: str = "small"
) -> None:
    """200 links to 64 KB files, four at a time (four users, each sending the next link once
    the last arrived), against 200 curl pairs four at a time or Telegram's pace for them,
    whichever is slower; RSS before and after."""
    with tempfile.TemporaryDirectory(prefix="tgfetch-curl-") as scratch:

        async def by_curl(lane: int, n: int) -> None:
            url = stack.media.url(f"/file/floor{n}.bin?size={SMALL_SIZE}")
            await curl_pair(stack, url, 90_001 + lane, Path(scratch))

        curl_s = floor_s = await _four_at_a_time(by_curl)

    async def by_bot(lane: int, n: int) -> None:
        name = f"{prefix}{n}.bin"
        url = stack.media.url(f"/file/{name}?size={SMALL_SIZE}")
        await bot_delivery(
            stack, 91_001 + lane, url, MediaServer.expected_sha256(name, SMALL_SIZE)
        )

    before = await idle_rss(daemon)
    jobs = _jobs_ended(daemon)
    bot_s = await _four_at_a_time(by_bot)
    await wait_log_count(daemon, "job_end", jobs + SMALL_LINKS, JOB_TIMEOUT)
    after = await idle_rss(daemon)
    found.metrics["small_links_200_s"] = bot_s
    # Telegram takes about one message a second in a chat after a burst of 3, and 30 a second
    # from a bot: 50 files into each of four chats cannot arrive sooner, whatever curl does.
    limits = FloodRules()
    per_chat = SMALL_LINKS / PARALLEL
    paced_s = max(
        (per_chat - limits.chat_burst) / limits.chat_rate,
        (SMALL_LINKS - limits.global_burst) / limits.global_rate,
    )
    floor_s = max(floor_s, paced_s)
    found.metrics["small_links_ratio"] = bot_s / floor_s
    found.metrics["rss_growth_200_mb"] = after - before
    found.details["small_links"] = {
        "links": SMALL_LINKS,
        "size_kb": SMALL_SIZE // 1024,
        "parallel": PARALLEL,
        "curl_s": round(curl_s, 3),
        "telegram_pace_floor_s": round(paced_s, 3),
        "rss_before_mb": round(before, 2),
        "rss_after_mb": round(after, 2),
    }


async def stream_through(stack: Stack, found: Findings) -> None:
    """A 45 MB file from a media server at 20 MB/s to a Bot API taking 10 MB/s: the bot's
    delivery ÷ the slower side alone (curl timed on each side by itself)."""
    name = "stream.bin"
    url = stack.media.url(f"/file/{name}?size={STREAM_SIZE}&rate={STREAM_FETCH_RATE}")
    expected = MediaServer.expected_sha256(name, STREAM_SIZE)
    stack.api.upload_rate = STREAM_SEND_RATE
    try:
        with tempfile.TemporaryDirectory(prefix="tgfetch-curl-") as scratch:
            path = Path(scratch) / name
            began = time.monotonic()
            await _curl("--output", str(path), url)
            fetch_s = time.monotonic() - began
            began = time.monotonic()
            await _curl(
                *("--output", "/dev/null", "-F", "chat_id=96001", "-F", f"document=@{path}"),
                f"{stack.api.url}/bot{stack.api.token}/sendDocument",
            )
            send_s = time.monotonic() - began
        bot_s = await bot_delivery(stack, 96_002, url, expected)
    finally:
        stack.api.upload_rate = None
    found.metrics["stream_through_ratio"] = bot_s / max(fetch_s, send_s)
    found.details["stream_through"] = {
        "size_mb": STREAM_SIZE // MB,
        "download_alone_s": round(fetch_s, 3),
        "upload_alone_s": round(send_s, 3),
        "bot_s": round(bot_s, 3),
    }


async def resume(root: Path, found: Findings) -> None:
    """A 200 MB plain download stopped by SIGTERM at 90%, then the daemon started again: the
    share of the file fetched a second time. Local Bot API mode, so 200 MB may be sent."""
    data = root / "resume-data"
    name = "resume.bin"
    path_qs = f"/file/{name}?size={RESUME_SIZE}&rate={RESUME_RATE}"
    settings = {"BOT_API_LOCAL_MODE": "true"}
    async with Stack(root, local_mode=True) as stack:
        daemon = await stack.start_daemon(data, settings)
        stack.api.push_message(95_001, stack.media.url(path_qs))
        had = await _wait_partial(data / "jobs", RESUME_SIZE * RESUME_AT)
        await daemon.stop()
        first = stack.media.bytes_served(name)
        mark = stack.api.mark()
        daemon = await stack.start_daemon(data, settings)
        call, _ = await stack.call_seen(is_upload_to(95_001), JOB_TIMEOUT, after=mark)
        await daemon.stop()
        if call.files["document"].sha256 != MediaServer.expected_sha256(name, RESUME_SIZE):
            raise RuntimeError("the resumed file does not match")
        second = stack.media.bytes_served(name) - first
    refetched = max(0, second - (RESUME_SIZE - first))
    found.metrics["resume_refetch_fraction"] = refetched / RESUME_SIZE
    found.metrics["resume_saved_fraction"] = 1 - refetched / first if first else 0.0
    found.details["resume"] = {
        "size_mb": RESUME_SIZE // MB,
        "stopped_at_mb": round(had / MB, 1),
        "served_before_restart_mb": round(first / MB, 1),
        "served_after_restart_mb": round(second / MB, 1),
        "requests": [r for r in stack.media.requests if name in r[1]],
    }
    await asyncio.to_thread(shutil.rmtree, data, ignore_errors=True)


async def _wait_partial(jobs: Path, size: float) -> int:
    """Polls the job folders until a file there holds `size` bytes; returns its size."""
    async with asyncio.timeout(JOB_TIMEOUT):
        while True:
            sizes = await asyncio.to_thread(_sizes, jobs)
            if sizes and max(sizes) >= size:
                return max(sizes)
            await asyncio.sleep(0.01)


def _sizes(jobs: Path) -> list[int]:
    try:
        return [p.stat().st_size for p in jobs.rglob("*") if p.is_file()]
    except OSError:
        return []


def _jobs_ended(daemon: Daemon) -> int:
    return sum("job_end" in line for line in daemon.lines)


async def suite() -> dict[str, object]:
    """Only this module's figures (`python -m bench.fastpath`), for a quick before and after."""
    found = Findings()
    with tempfile.TemporaryDirectory(prefix="tgfetch-bench-") as scratch:
        root = Path(scratch)
        async with Stack(root) as stack:
            daemon = await stack.start_daemon(root / "data", {"DOWNLOAD_WORKERS": "6"})
            progress("5 MB direct against curl…")
            await direct(stack, daemon, found)
            progress("200 small links…")
            await small_links(stack, daemon, found)
            progress("45 MB throttled on both sides…")
            await stream_through(stack, found)
            await daemon.stop()
        progress("resume at 90% of 200 MB…")
        await resume(root, found)
    return {
        "measured_at": now(),
        "machine": machine(),
        "metrics": {k: round(v, 3) for k, v in found.metrics.items()},
        "details": found.details,
    }


def main() -> int:
    result = asyncio.run(suite())
    write("fastpath-latest", result, json.dumps(result["metrics"], indent=2))
    say(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
