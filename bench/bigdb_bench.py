"""The bigdb_* figures: the daemon on a generated two-month database (bench/bigdb.py).

First with the daily job done for the day: start-up, a light user's /history, /admin. Then a
start whose daily job catches up (the expiry notice, then the purge of everything older than
LINK_RETENTION_DAYS) while users keep sending /start, 20 a second from the generated users:
/start's latency while the job runs, how long the job ran, and what it left that was due.

`make bench` runs it at BIGDB_SCALE (0.1 unless set); `make bench-bigdb` alone, at scale 1 by
default, and BENCH_MAIN=/other/main.py BIGDB_SCHEMA=N measures another checkout's daemon on
a database left at its schema.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.bigdb import Generated, Shape, generate
from bench.measures import Findings, idle_rss
from bench.report import Figure, machine, machine_line, now, progress, say, table, write
from bench.stack import Stack, is_text_to
from bench.stats import median, percentile
from tests.e2e.daemon import MAIN, Daemon
from tests.e2e.procfs import MB
from tests.e2e.sampler import Sampler

DEFAULT_SCALE = 0.1  # in `make bench`: 100k links, about 30 MB
ADMIN = 777
RETENTION_DAYS = 30
# Users writing during the daily job: 20 /start a second, under the 27 a second the bot may send
# (Telegram's 30 for the whole bot); past that the replies alone would outgrow what Telegram
# takes, however fast the database.
PUSH_EVERY_S = 0.05
HISTORY_SAMPLES, ADMIN_SAMPLES = 10, 5
CHAT_GAP_S = 1.2  # between two requests in one chat: over the bot's 0.9 a second per chat
JOB_TIMEOUT = 900.0

FIGURES = (
    Figure("bigdb_startup_s", "s", "two-month database: process start to first getUpdates",
           goal="< 2", digits=2),
    Figure("bigdb_start_p95_ms", "ms", "/start while the daily job purges (p95, 20/s)",
           goal="< 100"),
    Figure("bigdb_start_max_ms", "ms", "the slowest of those /start"),
    Figure("bigdb_history_ms", "ms", "a light user's /history (about 40 links; median of 10)",
           goal="< 100"),
    Figure("bigdb_admin_ms", "ms", "/admin statistics (median of 5)", goal="< 300"),
    Figure("bigdb_purge_s", "s", "the daily job that catches up: notice and purge", digits=1),
    Figure("bigdb_due_left", "", "rows due that the purge left (links, jobs, cached files)",
           goal="0", digits=0),
)  # fmt: skip


def daemon_settings(daily_at: dt.datetime) -> dict[str, str]:
    return {
        "ADMIN_IDS": str(ADMIN),
        "LINK_RETENTION_DAYS": str(RETENTION_DAYS),
        "EXPIRY_NOTICE_HOURS": "24",
        "DAILY_JOB_TIME": daily_at.strftime("%H:%M"),  # not due again while this runs
        "TZ": "UTC",
    }


async def measure(
    stack: Stack,
    root: Path,
    found: Findings,
    *,
    scale: float,
    main: Path = MAIN,
    schema: int | None = None,
) -> None:
    """Every bigdb_* figure, into `found` (details under "bigdb")."""
    data = root / "bigdb"
    data.mkdir()
    progress(f"bigdb: writing the two-month database at scale {scale}…")
    made = await asyncio.to_thread(
        generate,
        data / "tgfetch.sqlite3",
        Shape.at(scale),
        now=dt.datetime.now(dt.UTC),
        schema=schema,
    )
    settings = daemon_settings(dt.datetime.now(dt.UTC) + dt.timedelta(hours=12))
    details: dict[str, object] = {"scale": scale, "generated": _generated(made)}
    _set_last_run(made.path, dt.datetime.now(dt.UTC))
    progress("bigdb: start-up, /history, /admin…")
    await _quiet_day(stack, made, settings, found, details, main)
    progress("bigdb: the daily job catching up while users write…")
    _set_last_run(made.path, None)
    await _catch_up(stack, made, settings, found, details, main)
    found.details["bigdb"] = details


async def _quiet_day(
    stack: Stack,
    made: Generated,
    settings: dict[str, str],
    found: Findings,
    details: dict[str, object],
    main: Path,
) -> None:
    starts = []
    daemon: Daemon | None = None
    for run in range(3):
        before = stack.api.get_updates_count
        began = time.monotonic()
        daemon = await stack.start_daemon(made.path.parent, settings, wait=False, main=main)
        starts.append(await stack.first_poll_after(before, within=120) - began)
        await daemon.wait_log("started version=", timeout=120)
        if run < 2:
            await daemon.stop()
    assert daemon is not None
    found.metrics["bigdb_startup_s"] = median(starts)
    history = await _replies(stack, made.light_user, "/history", HISTORY_SAMPLES)
    heavy = await _replies(stack, made.heavy_user, "/history", 3)
    admin = await _replies(stack, ADMIN, "/admin", ADMIN_SAMPLES)
    found.metrics["bigdb_history_ms"] = median(history) * 1000
    found.metrics["bigdb_admin_ms"] = median(admin) * 1000
    details.update(
        startup_runs_s=[round(t, 2) for t in starts],
        history_runs_ms=_ms_list(history),
        heavy_history_runs_ms=_ms_list(heavy),
        admin_runs_ms=_ms_list(admin),
        idle_rss_mb=round(await idle_rss(daemon), 1),
    )
    await daemon.stop()


async def _catch_up(
    stack: Stack,
    made: Generated,
    settings: dict[str, str],
    found: Findings,
    details: dict[str, object],
    main: Path,
) -> None:
    writers = _unbanned(made.path)
    daemon = await stack.start_daemon(made.path.parent, settings, wait=False, main=main)
    await daemon.wait_log("started version=", timeout=120)
    pushes: list[tuple[int, float, int]] = []  # user, pushed at, mark
    window: list[float] = []

    async def push() -> None:
        for n in range(10**9):
            user = writers[n % len(writers)]
            pushes.append((user, time.monotonic(), stack.api.mark()))
            stack.api.push_message(user, "/start")
            await asyncio.sleep(PUSH_EVERY_S)

    steps: list[tuple[float, str]] = []  # when each part of the job was logged as done

    async def follow_steps() -> None:
        for count in range(1, 100):
            lines = await daemon.wait_lines("daily_job_step ", count, timeout=JOB_TIMEOUT)
            steps.append((time.monotonic(), lines[-1].split("step=", 1)[1]))

    async with Sampler(daemon.pid, 0.1) as sampler:
        pusher = asyncio.create_task(push())
        follower = asyncio.create_task(follow_steps())
        try:
            start_line = await daemon.wait_log("daily_job_start", timeout=120)
            window.append(time.monotonic())
            done_line = await daemon.wait_log("daily_job_done", timeout=JOB_TIMEOUT)
            window.append(time.monotonic())
        finally:
            for task in (pusher, follower):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await task
        during = [p for p in pushes if window[0] <= p[1] <= window[1]]
        latencies = [await _answered(stack, user, at, mark) for user, at, mark in during]
    await daemon.stop()
    details["batches"] = [
        line.split("batches_done ", 1)[1] for line in daemon.lines if "batches_done " in line
    ]
    details["start_by_step"] = _by_step([p[1] for p in during], latencies, window[0], steps)
    found.metrics["bigdb_start_p95_ms"] = percentile(latencies, 95) * 1000
    found.metrics["bigdb_start_max_ms"] = max(latencies, default=float("nan")) * 1000
    found.metrics["bigdb_purge_s"] = window[1] - window[0]
    ran_at = dt.datetime.fromisoformat(start_line.split("daily_job_start now=")[1].split()[0])
    left = _due_left(made.path, ran_at - dt.timedelta(days=RETENTION_DAYS))
    found.metrics["bigdb_due_left"] = sum(left.values())
    details.update(
        start_during_samples=len(latencies),
        start_during_p50_ms=round(percentile(latencies, 50) * 1000, 1),
        daily_job_done=done_line.split("daily_job_done", 1)[1].strip(),
        due_left=left,
        purge_peak_rss_mb=round(sampler.peak_rss / MB, 1),
        size_after_mb=round(made.path.stat().st_size / 1e6, 1),
    )


def _by_step(
    pushed: list[float], latencies: list[float], began: float, steps: list[tuple[float, str]]
) -> list[dict[str, object]]:
    """/start's latency in each part of the daily job (the parts as the daemon logged them)."""
    found = []
    start = began
    for end, step in [*steps, (float("inf"), "(after the last step logged)")]:
        these = [lat for at, lat in zip(pushed, latencies, strict=True) if start <= at < end]
        if these:
            found.append(
                {
                    "step": step,
                    "from_s": round(start - began, 1),
                    "samples": len(these),
                    "p50_ms": round(percentile(these, 50) * 1000, 1),
                    "p95_ms": round(percentile(these, 95) * 1000, 1),
                    "max_ms": round(max(these) * 1000, 1),
                }
            )
        start = end
    return found


async def _replies(stack: Stack, user: int, text: str, count: int) -> list[float]:
    """Push `text` from `user` `count` times, one after another: push to answered reply. A
    chat takes about a message a second (the bot keeps Telegram's pace): back to back, the
    fourth reply would time that pace, not the reply, so each push waits CHAT_GAP_S."""
    times = []
    for n in range(count):
        if n:
            await asyncio.sleep(CHAT_GAP_S)
        mark = stack.api.mark()
        began = time.monotonic()
        stack.api.push_message(user, text)
        call, _ = await stack.call_seen(is_text_to(user), 60, after=mark)
        times.append(call.at - began)
    return times


async def _answered(stack: Stack, user: int, pushed: float, mark: int) -> float:
    call = await stack.api.wait_for(is_text_to(user), 60, after=mark)
    return call.at - pushed


def _set_last_run(path: Path, when: dt.datetime | None) -> None:
    """The daily job's last run as the daemon keeps it (None: never ran, so it catches up)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'daily_job_last_run'")
        if when is not None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('daily_job_last_run', ?)",
                (when.isoformat(),),
            )


def _unbanned(path: Path, limit: int = 2000) -> list[int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT user_id FROM users WHERE banned = 0 ORDER BY user_id LIMIT ?", (limit,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def _due_left(path: Path, cut: dt.datetime) -> dict[str, int]:
    """Rows the purge should have removed: links, finished jobs, cached files before `cut`."""
    at = cut.timestamp() - 60  # the job's own clock ran a little later than its log line
    queries = {
        "links": "SELECT COUNT(*) FROM links WHERE created_at < ?",
        "jobs": "SELECT COUNT(*) FROM jobs WHERE updated_at < ?"
        " AND state NOT IN ('queued', 'running')",
        "file_cache": "SELECT COUNT(*) FROM file_cache WHERE created_at < ?",
    }
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {name: int(conn.execute(sql, (at,)).fetchone()[0]) for name, sql in queries.items()}


def _generated(made: Generated) -> dict[str, object]:
    return {
        "links": made.links,
        "users": made.users,
        "cached": made.cached,
        "job_parts": made.parts,
        "due_links": made.due,
        "light_user_links": made.light_links,
        "write_s": made.seconds,
        "upgrade_s": made.upgrade_s,
        "schema": made.schema,
        "size_mb": made.size_mb,
    }


def _ms_list(values: Sequence[float]) -> list[float]:
    return [round(v * 1000) for v in values]


def summary(details: object) -> str:
    """One line of what is behind the bigdb_* figures."""
    if not isinstance(details, dict):
        return "not measured"
    made = details.get("generated", {})
    made = made if isinstance(made, dict) else {}
    return (
        f"scale {details.get('scale')}: {made.get('links')} links, {made.get('size_mb')} MB"
        f" (written in {made.get('write_s')} s, migrated in {made.get('upgrade_s')} s);"
        f" start-up runs {details.get('startup_runs_s')} s; /history of the heaviest user"
        f" {details.get('heavy_history_runs_ms')} ms; /start during the daily job: p50"
        f" {details.get('start_during_p50_ms')} ms over {details.get('start_during_samples')};"
        f" the job: {details.get('daily_job_done')}; RSS idle {details.get('idle_rss_mb')} MB,"
        f" peak during the job {details.get('purge_peak_rss_mb')} MB"
    )


def render(result: dict[str, object]) -> str:
    metrics, info, details = result["metrics"], result["machine"], result["details"]
    assert isinstance(metrics, dict) and isinstance(info, dict) and isinstance(details, dict)
    return "\n".join(
        [
            f"# tgfetch bigdb ({result.get('label')})",
            "",
            f"Measured {result['measured_at']} on {machine_line(info)}.",
            "",
            table(FIGURES, metrics),
            "",
            summary(details.get("bigdb")),
            "",
            "/start in each part of the daily job:",
            "",
            *[f"- {part}" for part in _parts(details.get("bigdb"), "start_by_step")],
            "",
            "The batches:",
            "",
            *[f"- {part}" for part in _parts(details.get("bigdb"), "batches")],
        ]
    )


async def _standalone(scale: float, main: Path, schema: int | None, label: str) -> int:
    found = Findings()
    with tempfile.TemporaryDirectory(prefix="tgfetch-bigdb-") as scratch:
        root = Path(scratch)
        async with Stack(root) as stack:
            await measure(stack, root, found, scale=scale, main=main, schema=schema)
    result: dict[str, object] = {
        "measured_at": now(),
        "label": label,
        "machine": machine(),
        "metrics": {k: round(v, 3) for k, v in found.metrics.items()},
        "details": found.details,
    }
    markdown = render(result)
    stem = "bigdb-" + "".join(c if c.isalnum() else "-" for c in label)
    write(stem, result, markdown)
    say(markdown)
    return 0


def _parts(details: object, key: str) -> list[object]:
    found = details.get(key) if isinstance(details, dict) else None
    return found if isinstance(found, list) else []


def scale_from_env() -> float:
    return float(os.environ.get("BIGDB_SCALE") or DEFAULT_SCALE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--main", type=Path, default=MAIN, help="the daemon's main.py")
    parser.add_argument("--schema", type=int, default=None, help="the database's schema")
    parser.add_argument("--label", default="this checkout")
    args = parser.parse_args()
    return asyncio.run(_standalone(args.scale, args.main.resolve(), args.schema, args.label))


if __name__ == "__main__":
    raise SystemExit(main())
