"""`make bench`: the benchmark suite. Writes bench/results/latest.json and latest.md.

Run from the project root: `.venv/bin/python -m bench.run`. Everything is on 127.0.0.1: the fake
Bot API and the media server run in this process, the daemon as `python main.py`.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench import bigdb_bench, burst, fastpath, measures, stop_latency
from bench.report import Figure, machine, machine_line, now, progress, say, table, write
from bench.stack import Stack

FIGURES = (
    Figure("startup_s", "s", "process start to its first getUpdates (median of 3)", digits=2),
    Figure("idle_rss_mb", "MB", "resident memory of the daemon and its children, idle"),
    Figure("peak_rss_mb", "MB", "the most seen while four 45 MB files download and upload"),
    Figure("start_p50_ms", "ms", "/start: push to reply, six throttled downloads running"),
    Figure("start_p95_ms", "ms", "the same, 95th percentile of 50"),
    Figure(
        "overhead_ratio",
        "",
        "bot delivering 40 MB ÷ yt-dlp CLI download + curl upload (medians of 3)",
        goal="< 1.10",
        digits=2,
    ),
    Figure("cache_hit_ms", "ms", "the same link again from another user: push to resend"),
    Figure("inline_cached_ms", "ms", "@bot cached link: push to answerInlineQuery (median of 5)"),
    Figure("inline_new_ms", "ms", "@bot new link: push to the answer with a button (median of 5)"),
    Figure("updates_per_s", "/s", "/start updates answered per second, 500 pushed at once"),
    Figure("direct_5mb_ms", "ms", "a 5 MB plain link: push to upload answered (median of 6)"),
    Figure(
        "direct_5mb_ratio",
        "",
        "the same ÷ curl download + curl upload of the same file (the floor)",
        goal="< 1.5",
        digits=2,
    ),
    Figure("small_links_200_s", "s", "200 links to 64 KB files, four users at a time"),
    Figure(
        "small_links_ratio",
        "",
        "the same ÷ 200 curl pairs four at a time, or Telegram's pace for them if slower",
        goal="< 2",
        digits=2,
    ),
    Figure(
        "rss_growth_200_mb",
        "MB",
        "the daemon's idle RSS after those 200 links minus before",
        goal="< 1",
        digits=2,
    ),
    Figure(
        "stream_through_ratio",
        "",
        "45 MB, media server 20 MB/s, Bot API 10 MB/s: delivery ÷ the slower side alone",
        goal="≤ 1.15",
        digits=2,
    ),
    Figure(
        "resume_refetch_fraction",
        "",
        "SIGTERM at 90% of a 200 MB download, restart: share of the file fetched again",
        goal="< 0.15",
        digits=3,
    ),
    Figure(
        "resume_saved_fraction",
        "",
        "the share of what was there at the restart that was not fetched again",
        digits=3,
    ),
    Figure(
        "burst_200_s",
        "s",
        "Telegram's flood limits: 200 links from 50 users at once, to the 200th file",
        digits=2,
    ),
    Figure(
        "burst_ratio",
        "",
        "the same ÷ a naive uploader (download, sendDocument, sleep retry_after) in the run",
        goal="≤ 1.5",
        digits=2,
    ),
    Figure(
        "calls_per_file",
        "",
        "chat calls in that burst (sends, edits, deletes, 429s) per delivered file",
        goal="≤ 2.0",
        digits=2,
    ),
    Figure(
        "retry_after_violations",
        "",
        "calls the bot made into a running retry_after in that burst",
        goal="0",
        digits=0,
    ),
    Figure("burst_delivered", "", "distinct files delivered of the 200", goal="200", digits=0),
    Figure("burst_duplicates", "", "files delivered more than once", goal="0", digits=0),
    Figure(
        "stop_max_s",
        "s",
        "the slowest exit of six stop cases x 3 (SIGTERM mid start-up, mid job, a 401, ...)",
        goal="< 3",
        digits=2,
    ),
    *bigdb_bench.FIGURES,
)
DAEMON_SETTINGS = {"DOWNLOAD_WORKERS": "6"}


async def suite() -> dict[str, object]:
    found = measures.Findings()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tgfetch-bench-") as scratch:
        root = Path(scratch)
        async with Stack(root) as stack:
            progress("startup…")
            await measures.startup(stack, found)
            daemon = await stack.start_daemon(root / "data", DAEMON_SETTINGS)
            progress("memory…")
            await measures.peak_memory(stack, daemon, found)
            progress("/start latency under load…")
            await measures.start_latency(stack, daemon, found)
            progress("overhead against yt-dlp + curl…")
            cached = await measures.overhead(stack, daemon, found)
            progress("cache hit…")
            await measures.cache_hit(stack, cached, found)
            progress("inline queries…")
            await measures.inline_answers(stack, cached, found)
            progress("5 MB direct against curl…")
            await fastpath.direct(stack, daemon, found)
            progress("200 small links against curl…")
            await fastpath.small_links(stack, daemon, found)
            progress("45 MB throttled on both sides…")
            await fastpath.stream_through(stack, found)
            progress("saturation…")
            await measures.saturation(stack, daemon, found)
            found.details["idle_rss_after_mb"] = round(await measures.idle_rss(daemon), 1)
            code = await daemon.stop()
            errors = [line for line in daemon.lines if " ERROR " in line or "Traceback" in line]
            found.details["daemon_exit_code"] = code
            found.details["daemon_error_lines"] = errors[:20]
            await bigdb_bench.measure(stack, root, found, scale=bigdb_bench.scale_from_env())
        progress("resume at 90% of 200 MB…")
        await fastpath.resume(root, found)
        progress("a burst of 200 links against Telegram's flood limits…")
        await burst.measure(root / "burst", found)
    progress("stop latency…")
    stops = await stop_latency.measure()
    found.metrics["stop_max_s"] = float(str(stops["stop_max_s"]))
    found.details["stop_latency"] = stops
    found.details["bench_seconds"] = round(time.monotonic() - began, 1)
    return {
        "measured_at": now(),
        "machine": machine(),
        "settings": DAEMON_SETTINGS,
        "metrics": {k: round(v, 3) for k, v in found.metrics.items()},
        "details": found.details,
    }


def render(result: dict[str, object]) -> str:
    metrics, info, details = result["metrics"], result["machine"], result["details"]
    assert isinstance(metrics, dict) and isinstance(info, dict) and isinstance(details, dict)
    lines = [
        "# tgfetch benchmark",
        "",
        f"Measured {result['measured_at']} on {machine_line(info)}.",
        "",
        table(FIGURES, metrics),
        "",
        "Behind the figures:",
        "",
    ]
    peak, latency = details.get("peak", {}), details.get("start_latency", {})
    overhead, flood = details.get("overhead", {}), details.get("saturation", {})
    lines += [
        f"- startup runs: {details.get('startup_runs_s')} s; idle SIGTERM to exit: "
        f"{details.get('idle_stop_s')} s",
        f"- peak: the daemon alone peaked at {_get(peak, 'daemon_vmhwm_mb')} MB (VmHWM); "
        f"up to {_get(peak, 'max_children')} ffprobe/ffmpeg children; files intact: "
        f"{_get(peak, 'intact')}; idle again after the whole run: "
        f"{details.get('idle_rss_after_mb')} MB",
        f"- /start with nothing else running: p50 {_get(latency, 'idle_p50_ms')} ms, "
        f"p95 {_get(latency, 'idle_p95_ms')} ms; under load max {_get(latency, 'max_ms')} ms, "
        f"{_get(latency, 'downloads_streaming_at_end')} downloads still streaming at the end",
        f"- overhead: bot {_get(overhead, 'bot_median_s')} s vs yt-dlp + curl "
        f"{_get(overhead, 'cli_median_s')} s (yt-dlp's own start-up: "
        f"{_get(overhead, 'ytdlp_cli_startup_s')} s); per run below",
        f"- saturation: {_get(flood, 'updates')} updates in {_get(flood, 'seconds')} s; "
        f"CPU used meanwhile by the daemon {_get(flood, 'daemon_cpu_s')} s, "
        f"by the fakes {_get(flood, 'fakes_cpu_s')} s",
        f"- whole run: {details.get('bench_seconds')} s; daemon exit code "
        f"{details.get('daemon_exit_code')}; ERROR lines: {details.get('daemon_error_lines')}",
    ]
    direct, small = details.get("direct", {}), details.get("small_links", {})
    resumed, through = details.get("resume", {}), details.get("stream_through", {})
    lines += [
        f"- 5 MB direct: bot runs {_get(direct, 'bot_runs_ms')} ms, curl floor runs "
        f"{_get(direct, 'curl_runs_ms')} ms (the first of each left out of the medians)",
        f"- 200 small links: curl pairs four at a time {_get(small, 'curl_s')} s, Telegram's "
        f"pace for 50 files in each of 4 chats {_get(small, 'telegram_pace_floor_s')} s; "
        f"daemon RSS {_get(small, 'rss_before_mb')} → {_get(small, 'rss_after_mb')} MB",
        f"- stream-through: download alone {_get(through, 'download_alone_s')} s, upload "
        f"alone {_get(through, 'upload_alone_s')} s, the bot {_get(through, 'bot_s')} s",
        f"- resume: stopped at {_get(resumed, 'stopped_at_mb')} MB of "
        f"{_get(resumed, 'size_mb')} MB; served before the restart "
        f"{_get(resumed, 'served_before_restart_mb')} MB, after it "
        f"{_get(resumed, 'served_after_restart_mb')} MB",
    ]
    lines += [f"- bigdb: {bigdb_bench.summary(details.get('bigdb'))}"]
    bursts = details.get("burst", {})
    bot, naive = _get(bursts, "bot"), _get(bursts, "naive")
    lines += [
        f"- burst: the bot made {_get(bot, 'chat_calls')} chat calls "
        f"({_get(bot, 'calls_by_method')}), {_get(bot, 'answered_429')} answered 429; the naive "
        f"uploader took {_get(naive, 'seconds')} s with {_get(naive, 'answered_429')} 429s "
        f"and {_get(naive, 'violations')} calls into a retry_after",
    ]
    lines += ["", *_overhead_runs(overhead)]
    stops = details.get("stop_latency")
    if isinstance(stops, dict):
        lines += ["", "Stop latency (SIGTERM or the first 401 to the exit):", ""]
        lines.append(stop_latency.render(stops))
    return "\n".join(lines)


def _overhead_runs(overhead: object) -> list[str]:
    reps = _get(overhead, "reps")
    lines = [
        "| run | order | bot: total s (download + upload), CPU s "
        "| yt-dlp + curl: total s (download + upload) |",
        "| --- | --- | --- | --- |",
    ]
    for n, rep in enumerate(reps if isinstance(reps, list) else [], start=1):
        bot = f"{_get(rep, 'bot_s')} ({_get(rep, 'bot_download_s')} + {_get(rep, 'bot_upload_s')})"
        cli = f"{_get(rep, 'cli_s')} ({_get(rep, 'cli_download_s')} + {_get(rep, 'cli_upload_s')})"
        lines.append(f"| {n} | {_get(rep, 'order')} | {bot}, {_get(rep, 'bot_cpu_s')} | {cli} |")
    return lines


def _get(section: object, key: str) -> object:
    return section.get(key) if isinstance(section, dict) else None


def main() -> int:
    result = asyncio.run(suite())
    markdown = render(result)
    json_path, md_path = write("latest", result, markdown)
    say(markdown)
    progress(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
