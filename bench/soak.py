"""`make soak DURATION=600`: simulated users against the real daemon, with faults and a restart.

Run from the project root: `.venv/bin/python -m bench.soak --duration 600`. Traffic goes only
to the fakes on 127.0.0.1, which fail a tenth of the calls before doing them and lose the
answer of a twentieth after doing them (sends and edits). Writes bench/results/soak-latest.json
and .md; exits 1 when a link was lost (never answered, or its answer gone by the end), a file
was delivered twice, a file was left under DATA_DIR/jobs/, or a delivered file was corrupt.

`--flood` (`make soak-flood`): the fake Bot API also enforces Telegram's flood limits
(tests/fakes/flood.py), one daemon runs the whole soak (no restart), and the run also fails on
any call made into a running retry_after, or when the daemon's RSS at the end is more than
RSS_SLACK_MB above its RSS after the first minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import html
import json
import signal
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.memtrace import TRACED_MAIN, top_growth
from bench.report import RESULTS, machine, now, progress, say, write
from bench.soak_report import Segment, render, summarize
from bench.soak_traffic import Traffic
from bench.soak_users import Budget, User
from bench.stack import Stack
from tests.e2e.daemon import Daemon
from tests.e2e.procfs import MB, sample
from tests.e2e.sampler import Sampler
from tests.fakes.bot_api import SENDS, Loss
from tests.fakes.flood import FloodRules
from tests.fakes.media_files import make_video
from tests.fakes.records import UPLOAD_METHODS

FAILING = (500, 429, 502)
FAIL_RATIO = 0.1
# Performed, then the answer lost: sends (never to be repeated) and idempotent calls (to be).
LOSS_RATIO = 0.05
LOSING = frozenset({*SENDS, "editMessageText", "deleteMessage", "answerCallbackQuery"})
LOSS_MODES = (Loss.DROP, Loss.DROP, Loss.DROP, Loss.STALL)  # a stall lasts the read timeout
SAMPLE_EVERY_S = 1.0
IDLE_WITHIN_S = 20.0
IDLE_POLL_S = 0.5
STOP_TIMEOUT = 30.0
FIRST_USER = 800_001
# A 5 s answer timeout keeps stalled answers short: a send waits 5 s, an upload 15 s + size.
SETTINGS = {"DOWNLOAD_WORKERS": "4", "MAX_JOBS_PER_USER": "2", "BOT_API_TIMEOUT_SECONDS": "5"}
FIRST_MINUTE_S = 60.0
TRACED_START_S = 300.0
RSS_SLACK_MB = 5.0
PROBE_EVERY_S = 60.0
PROBE_FRAMES = 12
PROBED_MAIN = Path(__file__).resolve().parent / "probed_main.py"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds users keep sending")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain", type=float, default=None, help="seconds to wait for outcomes")
    parser.add_argument("--max-requests", type=int, default=None, help="cap on all requests")
    parser.add_argument(
        "--flood", action="store_true", help="Telegram's flood limits enforced; no restart"
    )
    parser.add_argument(
        "--trace", action="store_true", help="with --flood: tracemalloc, what grew (slow)"
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="with --flood: a memory probe every minute (bench/probed_main.py), trim at the end",
    )
    parser.add_argument(
        "--daemon-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --flood: one more variable for the daemon (MALLOC_ARENA_MAX=2, say)",
    )
    args = parser.parse_args()
    if args.duration < 20:
        parser.error("--duration must be at least 20 seconds")
    args.drain = args.drain if args.drain is not None else min(180.0, max(60.0, args.duration / 4))
    args.max_requests = args.max_requests or int(args.duration * 12) + 100
    return args


async def soak(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="tgfetch-soak-") as scratch:
        root = Path(scratch)
        clip = await asyncio.to_thread(make_video, root / "static" / "clip.mp4", 2)
        clip_sha = hashlib.sha256(clip.read_bytes()).hexdigest()
        data = root / "data"
        flood = FloodRules() if args.flood else None
        async with Stack(root, root / "static", flood=flood) as stack:
            traffic = Traffic(stack.media, clip.name, clip_sha)
            if args.flood:
                return await _run_flood(args, stack, data, traffic)
            return await _run(args, stack, data, traffic)


async def _run(
    args: argparse.Namespace, stack: Stack, data: Path, traffic: Traffic
) -> dict[str, object]:
    daemon = await stack.start_daemon(data, SETTINGS)
    stack.api.fail_ratio(FAIL_RATIO, FAILING, seed=args.seed, retry_after=1)
    stack.api.lose_answers(LOSS_RATIO, methods=LOSING, seed=args.seed, modes=LOSS_MODES)
    began = time.monotonic()
    until, deadline = began + args.duration, began + args.duration + args.drain
    users = [User(stack, traffic, FIRST_USER + n, args.seed) for n in range(args.users)]
    budget = Budget(args.max_requests)
    tasks = [asyncio.create_task(u.run(until, deadline, budget)) for u in users]
    progress(f"soak: {args.users} users for {args.duration:.0f} s, restart half way")
    first = Segment("before restart", began, first=sample(daemon.pid))
    async with Sampler(daemon.pid, SAMPLE_EVERY_S) as sampler:
        await asyncio.sleep(args.duration / 2)
    first.samples, first.load_ended = sampler.samples, time.monotonic()
    first.last = sampler.samples[-1][1] if sampler.samples else None
    again, restart_s = await _restart(stack, daemon, data, first)
    second = Segment("after restart", time.monotonic(), first=sample(again.pid))
    async with Sampler(again.pid, SAMPLE_EVERY_S) as sampler:
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        second.load_ended = time.monotonic()
        progress("soak: requests stopped, draining")
        await asyncio.gather(*tasks)
        drained = time.monotonic()
        # A job's folder is removed after its final message, just before its state is saved.
        idle = await _wait_idle(data)
        second.samples = sampler.samples
    second.last = sample(again.pid)
    orphans = sorted(str(p.relative_to(data)) for p in (data / "jobs").rglob("*"))
    stale = _stale_buttons(stack, users)
    duplicates = _duplicates(stack, users)
    for user in users:
        user.check_finals()
    jobs_by_state = await asyncio.to_thread(_jobs_by_state, data)
    stack.api.clear_faults()
    second.exit_code = await again.stop(STOP_TIMEOUT)
    requests = [r for u in users for r in u.requests]
    await asyncio.to_thread(_save_log, [daemon, again])
    extra = _extra(args, stack, [daemon, again], orphans, jobs_by_state)
    extra.update(
        duplicate_deliveries=len(duplicates),
        duplicate_examples=duplicates[:10],
        stale_cancel_buttons=len(stale),
        stale_cancel_examples=stale[:10],
        restart_s=round(restart_s, 2),
        drain_used_s=round(drained - until, 1),
        jobs_idle_at_end=idle,
        exit_codes=[first.exit_code, second.exit_code],
    )
    result = summarize(requests, [first, second], extra)
    failed = (
        result["lost"]
        or result["orphans"]
        or result["corrupt_deliveries"]
        or result["duplicate_deliveries"]
    )
    result["verdict"] = "FAIL" if failed else "pass"
    return result


async def _run_flood(
    args: argparse.Namespace, stack: Stack, data: Path, traffic: Traffic
) -> dict[str, object]:
    """One daemon for the whole soak against Telegram's limits: its RSS after the first minute
    against its RSS at the end, and every call into a running retry_after counted."""
    assert stack.api.flood is not None
    traces = data.parent / "traces"
    extra_env = dict(item.split("=", 1) for item in args.daemon_env)
    if args.probe:  # what the RSS is made of, every minute (and tracemalloc with --trace)
        await asyncio.to_thread(traces.mkdir, parents=True, exist_ok=True)
        frames = {"TRACE_FRAMES": str(PROBE_FRAMES if args.trace else 0)}
        settings = {**SETTINGS, **extra_env, "TRACE_DIR": str(traces), **frames}
        daemon = await stack.start_daemon(data, settings, main=PROBED_MAIN, wait=False)
        await daemon.wait_log("started version=", TRACED_START_S)
    elif args.trace:  # tracemalloc snapshots after the first minute and at the end
        await asyncio.to_thread(traces.mkdir, parents=True, exist_ok=True)
        settings = {**SETTINGS, **extra_env, "TRACE_DIR": str(traces)}
        daemon = await stack.start_daemon(data, settings, main=TRACED_MAIN, wait=False)
        await daemon.wait_log("started version=", TRACED_START_S)
    else:
        daemon = await stack.start_daemon(data, {**SETTINGS, **extra_env})
    stack.api.fail_ratio(FAIL_RATIO, FAILING, seed=args.seed, retry_after=1)
    stack.api.lose_answers(LOSS_RATIO, methods=LOSING, seed=args.seed, modes=LOSS_MODES)
    began = time.monotonic()
    until, deadline = began + args.duration, began + args.duration + args.drain
    users = [User(stack, traffic, FIRST_USER + n, args.seed) for n in range(args.users)]
    budget = Budget(args.max_requests)
    tasks = [asyncio.create_task(u.run(until, deadline, budget)) for u in users]
    progress(f"soak: {args.users} users for {args.duration:.0f} s, Telegram's flood limits")
    only = Segment("the only process", began, first=sample(daemon.pid))
    probing = asyncio.create_task(_probe_every_minute(daemon)) if args.probe else None
    async with Sampler(daemon.pid, SAMPLE_EVERY_S) as sampler:
        if args.trace and not args.probe:
            await asyncio.sleep(FIRST_MINUTE_S)
            daemon.signal(signal.SIGUSR2)
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        if args.trace and not args.probe:
            daemon.signal(signal.SIGUSR2)
        only.load_ended = time.monotonic()
        progress("soak: requests stopped, draining")
        await asyncio.gather(*tasks)
        drained = time.monotonic()
        idle = await _wait_idle(data)
        only.samples = sampler.samples
    only.last = sample(daemon.pid)
    probes: list[dict[str, object]] = []
    if probing is not None:
        probing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probing
        probes = await _last_probes(daemon, traces)
    minute = next((s for t, s in only.samples if t >= began + FIRST_MINUTE_S), None)
    orphans = sorted(str(p.relative_to(data)) for p in (data / "jobs").rglob("*"))
    stale = _stale_buttons(stack, users)
    duplicates = _duplicates(stack, users)
    for user in users:
        user.check_finals()
    jobs_by_state = await asyncio.to_thread(_jobs_by_state, data)
    stack.api.clear_faults()
    growth: list[str] = []
    if args.trace and args.probe:
        growth = top_growth(traces, _snapshots(traces), 2)
    elif args.trace:
        await daemon.wait_log("tracemalloc_snapshot n=2 ", TRACED_START_S)
        growth = top_growth(traces, 2)
    only.exit_code = await daemon.stop(STOP_TIMEOUT)
    requests = [r for u in users for r in u.requests]
    await asyncio.to_thread(_save_log, [daemon])
    extra = _extra(args, stack, [daemon], orphans, jobs_by_state)
    after_minute = round(minute.daemon_rss / MB, 2) if minute else None
    at_end = round(only.last.daemon_rss / MB, 2) if only.last else None
    grew = round(at_end - after_minute, 2) if at_end and after_minute else None
    extra.update(
        duplicate_deliveries=len(duplicates),
        duplicate_examples=duplicates[:10],
        stale_cancel_buttons=len(stale),
        stale_cancel_examples=stale[:10],
        restart_s=None,
        drain_used_s=round(drained - until, 1),
        jobs_idle_at_end=idle,
        exit_codes=[only.exit_code],
        flood_violations=len(stack.api.flood.violations),
        flood_violation_examples=[str(v) for v in stack.api.flood.violations[:10]],
        flood_429s=dict(stack.api.flood.limited),
        flood_counted_calls=stack.api.flood.counted,
        daemon_rss_after_first_minute_mb=after_minute,
        daemon_rss_at_end_mb=at_end,
        daemon_rss_end_minus_first_minute_mb=grew,
        traced_growth_first_minute_to_end=growth,
        memory_probes=probes,
        daemon_env=extra_env,
    )
    result = summarize(requests, [only], extra)
    failed = (
        result["lost"]
        or result["orphans"]
        or result["corrupt_deliveries"]
        or result["duplicate_deliveries"]
        or result["flood_violations"]
        or grew is None
        or grew > RSS_SLACK_MB
    )
    result["verdict"] = "FAIL" if failed else "pass"
    return result


async def _probe_every_minute(daemon: Daemon) -> None:
    """SIGUSR2 to the probed daemon every PROBE_EVERY_S, the first after the first minute."""
    while True:
        await asyncio.sleep(PROBE_EVERY_S)
        daemon.signal(signal.SIGUSR2)


async def _last_probes(daemon: Daemon, traces: Path) -> list[dict[str, object]]:
    """A probe once idle, malloc_trim(0), a probe after it; then every probe of the run."""
    count = sum("memory_probe n=" in line for line in daemon.lines)
    daemon.signal(signal.SIGUSR2)
    await daemon.wait_lines("memory_probe n=", count + 1, TRACED_START_S)
    daemon.signal(signal.SIGUSR1)
    await daemon.wait_log("memory_trim ", TRACED_START_S)
    daemon.signal(signal.SIGUSR2)
    await daemon.wait_lines("memory_probe n=", count + 2, TRACED_START_S)
    text = await asyncio.to_thread((traces / "probe.jsonl").read_text)
    return [json.loads(line) for line in text.splitlines()]


def _snapshots(traces: Path) -> int:
    return len(list(traces.glob("snapshot-*.pickle")))


async def _restart(
    stack: Stack, daemon: Daemon, data: Path, segment: Segment
) -> tuple[Daemon, float]:
    """SIGTERM, then the same settings and DATA_DIR again; seconds until it polls again."""
    progress("soak: SIGTERM")
    stopping = time.monotonic()
    daemon.signal(signal.SIGTERM)
    segment.exit_code = await daemon.wait_exit(STOP_TIMEOUT)
    polls = stack.api.get_updates_count
    again = await stack.start_daemon(data, SETTINGS)
    return again, await stack.first_poll_after(polls) - stopping


async def _wait_idle(data: Path) -> bool:
    """Whether every job reached a final state in the database within IDLE_WITHIN_S."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(IDLE_WITHIN_S):
            while True:
                states = await asyncio.to_thread(_jobs_by_state, data)
                if not {"queued", "running"} & set(states):
                    return True
                await asyncio.sleep(IDLE_POLL_S)
    return False


def _extra(
    args: argparse.Namespace,
    stack: Stack,
    daemons: list[Daemon],
    orphans: list[str],
    jobs_by_state: dict[str, int],
) -> dict[str, object]:
    lines = [line for d in daemons for line in d.lines]
    errors = [line for line in lines if " ERROR " in line or "Traceback" in line]
    events: Counter[str] = Counter()
    for line in lines:
        for level in (" WARNING ", " ERROR "):
            if level in line:
                message = line.split(": ", 1)[-1]
                events[f"{level.strip()} {message.split(' ', 1)[0]}"] += 1
    injected = sum(c.status in FAILING and c.method != "getUpdates" for c in stack.api.calls)
    lost = [c for c in stack.api.calls if c.answer_lost]
    return {
        "measured_at": now(),
        "machine": machine(),
        "duration_s": args.duration,
        "drain_s": args.drain,
        "users": args.users,
        "seed": args.seed,
        "settings": SETTINGS,
        "bot_api_calls": len(stack.api.calls),
        "injected_failures": injected,
        "answers_lost": len(lost),
        "answers_lost_of_uploads": sum(c.method in UPLOAD_METHODS for c in lost),
        "answers_lost_of_sends": sum(c.method in SENDS for c in lost),
        "orphans": len(orphans),
        "orphan_paths": orphans[:20],
        "jobs_by_state": jobs_by_state,
        "log_errors": len(errors),
        "log_error_lines": errors[:30],
        "log_events": dict(events.most_common(30)),
    }


def _stale_buttons(stack: Stack, users: list[User]) -> list[str]:
    """Messages still showing a Cancel button once every job has ended."""
    stale = []
    for user in users:
        for message in stack.api.chat(user.id):
            data = [b.get("callback_data") for b in message.buttons]
            if any(str(d).startswith("cancel:") for d in data):
                stale.append(f"chat={user.id} message={message.message_id} {message.content!r}")
    return stale


def _duplicates(stack: Stack, users: list[User]) -> list[str]:
    """Files a chat got more often than its user sent their link: each one a second copy.

    Every performed upload counts, fresh or by file_id, its answer lost or not; a user who
    sent the same link twice may get it twice.
    """
    found = []
    for user in users:
        asked: dict[str, int] = {}
        for request in user.requests:
            if request.action.kind.is_link:
                asked[request.action.text] = asked.get(request.action.text, 0) + 1
        uploads = [
            c
            for c in stack.api.calls
            if c.chat_id == user.id and c.method in UPLOAD_METHODS and c.ok
        ]
        for url, times in asked.items():
            mark = html.escape(url, quote=True)
            got = sum(mark in str(c.params.get("caption", "")) for c in uploads)
            if got > times:
                found.append(f"chat={user.id} url={url} asked={times} delivered={got}")
    return found


def _save_log(daemons: list[Daemon]) -> None:
    """Both daemons' logs, for reading what happened to a lost link or an orphan."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = "\n--- restart ---\n".join(d.output for d in daemons)
    (RESULTS / "soak-latest-daemon.log").write_text(text + "\n")


def _jobs_by_state(data: Path) -> dict[str, int]:
    uri = f"file:{data / 'tgfetch.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
        rows = db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
    return {str(state): int(count) for state, count in rows}


def main() -> int:
    args = arguments()
    result = asyncio.run(soak(args))
    markdown = render(result)
    json_path, md_path = write("soak-latest", result, markdown)
    write(f"soak-{args.duration:.0f}s", result, markdown)  # kept beside runs of other lengths
    say(markdown)
    progress(f"wrote {json_path} and {md_path}")
    return 1 if result["verdict"] != "pass" else 0


if __name__ == "__main__":
    raise SystemExit(main())
