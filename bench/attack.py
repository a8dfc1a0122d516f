"""`make attack`: each hostile link of issues 11 and 26 against a fresh daemon. Writes
bench/results/attack.json and attack.md (`--main` runs another checkout's daemon, `--only`
some attacks, `--label` names the files: attack-LABEL.json).

For every attack a daemon starts on an empty DATA_DIR with the attack's settings, the link is
served by tests/fakes/hostile.py, and the daemon's process tree is read from /proc every 20 ms
(its VmHWM too, so a spike between readings is not missed). Recorded:

- `peak_rss_mb`: the most the daemon and its children (ffmpeg, ffprobe) held;
- `answer_s`: from pushing the link (or the stop) to the user's answer;
- `stop_to_free_s`: from the stop (the cancel as the daemon received it, the job timeout, the
  page cap) to the job's worker being free again, from the daemon's own log (`job_freed
  after_stop=`, its monotonic clock); `thread_s`: the same for the yt-dlp worker thread alone
  (`ytdlp_stopped seconds=`); SIGTERM: signal to process exit, measured here;
- `closed_s`: from the answer to the last attacking connection closed (negative: before it).

Issue 26's decode bombs are media made with ffmpeg and served by the same server: a video of
8192 x 8192 frames, an mkv of 500 streams, a page whose cover is a 30000 x 30000 PNG (the audio
choice), an HLS playlist of 150,000 segments, a page of 3,000 `<video>` tags answered "all".

Goals (issue 11): every peak below 200 MB, every stop within 2 s; issue 26's cases below 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.report import machine, machine_line, now, progress, say, write
from bench.stack import Stack
from tests.e2e.daemon import MAIN, Daemon
from tests.e2e.procfs import MB
from tests.e2e.sampler import Sampler
from tests.fakes.hostile import GiB, HostileServer
from tests.fakes.media_files import make_huge_frames, make_many_streams, make_video

USER = 60_000  # each attack's users are USER + 10 * its index + 0..4
FREED = re.compile(r"job_freed id=\d+ after_stop=([\d.]+)")
THREAD = re.compile(r"ytdlp_(?:slow_)?stop(?:ped)? seconds=([\d.]+)")
ANSWER_WITHIN = 120.0
PEAK_GOAL_MB, STOP_GOAL_S = 200.0, 2.0
DECODE_GOAL_MB = 250.0  # issue 26: the daemon and its children, for the decode bombs
# Issue 26's media: served at /media/NAME by every hostile server (made once, in `media()`).
MEDIA_TYPES = {
    "huge.mp4": "video/mp4",
    "streams.mkv": "video/x-matroska",
    "song.mp4": "video/mp4",
    "clip.mp4": "video/mp4",
    "seg.ts": "video/mp2t",
}


@dataclass
class Outcome:
    """What one attack did to the daemon."""

    name: str
    what: str
    settings: dict[str, str]
    user: int  # the attacker; the next few ids are other users of the same run
    answer: str = ""
    peak_rss_mb: float = 0.0
    answer_s: float | None = None
    stop_to_free_s: float | None = None
    thread_s: float | None = None
    closed_s: float | None = None
    notes: list[str] = field(default_factory=list, repr=False)


Run = Callable[[Stack, HostileServer, Daemon, "Outcome"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Attack:
    name: str
    what: str
    settings: dict[str, str]
    run: Run
    goal_mb: float = PEAK_GOAL_MB


async def answered(stack: Stack, user: int, marker: str, began: float, out: Outcome) -> None:
    message = await stack.api.wait_for_text(user, marker, timeout=ANSWER_WITHIN)
    out.answer_s = time.monotonic() - began
    out.answer = message.content.splitlines()[0][:90]


def link(path: str, marker: str = "❌") -> Run:
    """The attack is one link from one user; the answer starts with `marker`."""

    async def run(stack: Stack, hostile: HostileServer, daemon: Daemon, out: Outcome) -> None:
        began = time.monotonic()
        stack.api.push_message(out.user, hostile.url(path))
        await answered(stack, out.user, marker, began, out)

    return run


async def four_bombs(stack: Stack, hostile: HostileServer, daemon: Daemon, out: Outcome) -> None:
    began = time.monotonic()
    users = [out.user + n for n in range(4)]
    for user in users:
        stack.api.push_message(user, hostile.url(f"/gzip.bin?layers=1&size={GiB}"))
    for user in users:
        await answered(stack, user, "❌", began, out)


async def cancelled(stack: Stack, hostile: HostileServer, daemon: Daemon, out: Outcome) -> None:
    stack.api.push_message(out.user, hostile.url("/endless.html?rate=50000"))
    status = await stack.api.wait_for_text(out.user, "Working on your link", timeout=30)
    await hostile.wait_requests("/endless.html", 2)  # yt-dlp is reading it now
    data = next(b["callback_data"] for b in status.buttons)
    began = time.monotonic()
    stack.api.push_callback(out.user, status.message_id, data)
    await answered(stack, out.user, "✖️ Cancelled", began, out)
    await next_link(stack, daemon, out)


async def timed_out(stack: Stack, hostile: HostileServer, daemon: Daemon, out: Outcome) -> None:
    began = time.monotonic()
    stack.api.push_message(out.user, hostile.url("/endless.html?rate=50000"))
    await answered(stack, out.user, "❌", began, out)
    await next_link(stack, daemon, out)


async def next_link(stack: Stack, daemon: Daemon, out: Outcome) -> None:
    """With one worker: the next page link must be served, and how soon."""
    video = stack.media.url("/file/clip.mp4?size=200000&type=video/mp4")
    page = stack.media.url(f"/page/watch?video={quote(video, safe='')}")
    began = time.monotonic()
    stack.api.push_message(out.user + 1, page)
    await stack.api.wait_for_file(out.user + 1, timeout=60)
    seconds = time.monotonic() - began
    out.notes.append(f"the next page link, on the only worker, was delivered in {seconds:.2f} s")


async def sigterm(stack: Stack, hostile: HostileServer, daemon: Daemon, out: Outcome) -> None:
    stack.api.push_message(out.user, hostile.url("/slowloris?every=1&after=1"))
    await hostile.wait_requests("/slowloris", 2)  # yt-dlp is waiting on the headers
    began = time.monotonic()
    daemon.signal()
    code = await daemon.wait_exit(30)
    out.stop_to_free_s = time.monotonic() - began
    out.answer = f"exit code {code}"
    out.notes.append("SIGTERM to process exit, a worker blocked on trickling headers")


def delivered(path: str, *methods: str) -> Run:
    """One link whose answer is a file: `methods` (any upload when empty) to the attacker."""

    async def run(stack: Stack, hostile: HostileServer, daemon: Daemon, out: Outcome) -> None:
        began = time.monotonic()
        stack.api.push_message(out.user, hostile.url(path))
        call = await stack.api.wait_for_file(out.user, timeout=ANSWER_WITHIN)
        out.answer_s = time.monotonic() - began
        out.answer = f"{call.method} ({_thumbnail(call)})"
        if methods and call.method not in methods:
            out.notes.append(f"sent with {call.method}, not {'/'.join(methods)}")

    return run


def _thumbnail(call: object) -> str:
    files = getattr(call, "files", {})
    return "with a thumbnail" if "thumbnail" in files else "no thumbnail"


async def question(stack: Stack, user: int, text: str, ending: str) -> None:
    """Answer the question that contains `text` with the button whose data ends in `ending`."""
    asked = await stack.api.wait_for_text(user, text, timeout=ANSWER_WITHIN)
    data = next(b["callback_data"] for b in asked.buttons if b["callback_data"].endswith(ending))
    stack.api.push_callback(user, asked.message_id, data)


async def png_cover(stack: Stack, hostile: HostileServer, daemon: Daemon, out: Outcome) -> None:
    hostile.serve_png_bomb("huge.png", 30000, 30000)
    began = time.monotonic()
    stack.api.push_message(out.user, hostile.url("/cover.html?video=song.mp4&image=huge.png"))
    await question(stack, out.user, "What would you like", ":audio")
    call = await stack.api.wait_for_file(out.user, timeout=ANSWER_WITHIN)
    out.answer_s = time.monotonic() - began
    out.answer = f"{call.method} ({_thumbnail(call)})"


async def many_videos(stack: Stack, hostile: HostileServer, daemon: Daemon, out: Outcome) -> None:
    began = time.monotonic()
    stack.api.push_message(out.user, hostile.url("/videos.html?count=3000&src=clip.mp4"))
    await question(stack, out.user, "This is a playlist", ":all")
    await daemon.wait_log("job_end id=1 ", ANSWER_WITHIN)
    out.answer_s = time.monotonic() - began
    albums = [c for c in stack.api.calls_of("sendMediaGroup", out.user) if c.ok]
    items = sum(len(c.params["media"]) for c in albums)
    ending = next(line for line in daemon.lines if "job_end id=1 " in line)
    out.answer = f"{items} items in {len(albums)} albums; {ending.split('outcome=')[-1][:40]}"


def attacks() -> list[Attack]:
    one_worker = {"DOWNLOAD_WORKERS": "1"}

    return [
        Attack(
            "gzip2_file",
            "file, Content-Encoding: gzip, gzip, 4 GiB of zeros inside (defaults)",
            {},
            link(f"/gzip.bin?layers=2&size={4 * GiB}"),
        ),
        Attack(
            "gzip_page",
            "text/html page that is a gzip bomb, 1 GiB inside (goes to yt-dlp)",
            {},
            link(f"/bomb.html?size={GiB}"),
        ),
        Attack(
            "endless_fast",
            "endless text/html page as fast as loopback goes, JOB_TIMEOUT_SECONDS=40",
            {"JOB_TIMEOUT_SECONDS": "40"},
            link("/endless.html"),
        ),
        Attack(
            "endless_2mbs",
            "endless page at 2 MB/s, JOB_TIMEOUT_SECONDS=15, one worker",
            {"JOB_TIMEOUT_SECONDS": "15", **one_worker},
            link("/endless.html?rate=2000000"),
        ),
        Attack(
            "endless_slow_timeout",
            "endless page at 50 KB/s (under the page cap until the timeout), "
            "JOB_TIMEOUT_SECONDS=8, one worker; then a page link",
            {"JOB_TIMEOUT_SECONDS": "8", **one_worker},
            timed_out,
        ),
        Attack(
            "endless_slow_cancel",
            "endless page at 50 KB/s, Cancel pressed while yt-dlp reads it, one worker; "
            "then a page link",
            one_worker,
            cancelled,
        ),
        Attack(
            "slowloris_page",
            "headers trickled a byte a second to yt-dlp's request, JOB_TIMEOUT_SECONDS=8",
            {"JOB_TIMEOUT_SECONDS": "8"},
            link("/slowloris?every=1&after=1"),
        ),
        Attack(
            "gzip_x4",
            "four single-layer gzip bombs at once (1 GiB inside each), MAX_FILE_SIZE_MB=10",
            {"MAX_FILE_SIZE_MB": "10"},
            four_bombs,
        ),
        Attack(
            "sigterm_slowloris",
            "SIGTERM while a yt-dlp worker waits on trickling headers",
            {},
            sigterm,
        ),
        Attack(
            "huge_frames",
            "a 200 KB mp4 of 8192 x 8192 frames, a plain link",
            {},
            delivered("/media/huge.mp4"),
            DECODE_GOAL_MB,
        ),
        Attack(
            "png_cover",
            "a page whose og:image is a 30000 x 30000 PNG, the audio choice",
            {"CHOICE_TIMEOUT_SECONDS": "60"},
            png_cover,
            DECODE_GOAL_MB,
        ),
        Attack(
            "streams_500",
            "an mkv of 500 streams (250 video, 250 audio), a plain link",
            {},
            delivered("/media/streams.mkv"),
            DECODE_GOAL_MB,
        ),
        Attack(
            "hls_150k",
            "an HLS playlist of 150,000 one-second segments, JOB_TIMEOUT_SECONDS=60",
            {"JOB_TIMEOUT_SECONDS": "60"},
            link("/hls.m3u8?segments=150000"),
            DECODE_GOAL_MB,
        ),
        Attack(
            "videos_3000",
            'a page of 3,000 <video> tags answered "all" (MAX_PLAYLIST_ITEMS default 50)',
            {"CHOICE_TIMEOUT_SECONDS": "60"},
            many_videos,
            DECODE_GOAL_MB,
        ),
    ]


def media(folder: Path) -> dict[str, bytes]:
    """Issue 26's media files, made with ffmpeg, by name."""
    made = {
        "huge.mp4": make_huge_frames(folder / "huge.mp4"),
        "streams.mkv": make_many_streams(folder / "streams.mkv"),
        "song.mp4": make_video(folder / "song.mp4", 3, 160, 120),
        "clip.mp4": make_video(folder / "clip.mp4", 1, 160, 120),
        "seg.ts": make_video(folder / "seg.ts", 1, 160, 120),
    }
    return {name: path.read_bytes() for name, path in made.items()}


async def measure(
    stack: Stack, attack: Attack, root: Path, user: int, files: dict[str, bytes], main: Path
) -> Outcome:
    out = Outcome(attack.name, attack.what, attack.settings, user)
    async with HostileServer() as hostile:
        for name, body in files.items():
            hostile.serve(name, body, MEDIA_TYPES[name])
        daemon = await stack.start_daemon(root / attack.name, attack.settings, main=main)
        async with Sampler(daemon.pid, 0.02) as sampler:
            await attack.run(stack, hostile, daemon, out)
            answered_at = time.monotonic()
            try:
                await hostile.wait_all_closed(timeout=30)
            except TimeoutError:
                out.notes.append("an attacking connection was still open 30 s after")
            closed = [c.closed_at for c in hostile.connections if c.closed_at is not None]
            if closed:
                out.closed_s = max(closed) - answered_at
            if daemon.alive:  # every job over, not just answered, before the daemon stops
                submitted = sum("job_submitted" in line for line in daemon.lines)
                await daemon.wait_lines("job_end", submitted, ANSWER_WITHIN)
        out.peak_rss_mb = sampler.peak_rss / MB
        daemon_peak = max((s.daemon_hwm for _, s in sampler.samples), default=0)
        busiest = max((s.children for _, s in sampler.samples), default=0)
        out.notes.append(
            f"the daemon alone {daemon_peak / MB:.0f} MB; at most {busiest} children at once"
        )
        if daemon.alive:
            await daemon.stop()
    if out.stop_to_free_s is None and (freed := FREED.findall(daemon.output)):
        out.stop_to_free_s = max(float(s) for s in freed)
    if threads := THREAD.findall(daemon.output):
        out.thread_s = max(float(s) for s in threads)
    leftovers = list((root / attack.name / "jobs").glob("*"))
    if leftovers:
        out.notes.append(f"left in jobs/: {[p.name for p in leftovers]}")
    errors = [line for line in daemon.lines if "Traceback" in line or " ERROR " in line]
    if errors:
        out.notes.append(f"error lines: {errors[:3]}")
    return out


async def suite(main: Path, only: set[str], label: str) -> dict[str, object]:
    began = time.monotonic()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="tgfetch-attack-") as scratch:
        root = Path(scratch)
        files = await asyncio.to_thread(media, root / "media")
        async with Stack(root) as stack:
            for index, attack in enumerate(attacks()):
                if only and attack.name not in only:
                    continue
                progress(f"{attack.name}…")
                user = USER + 10 * index
                outcomes.append(await measure(stack, attack, root, user, files, main))
    goals = {a.name: a.goal_mb for a in attacks()}
    for outcome in outcomes:
        outcome.notes.insert(0, f"goal < {goals[outcome.name]:.0f} MB")
    return {
        "label": label,
        "measured_at": now(),
        "machine": machine(),
        "seconds": round(time.monotonic() - began, 1),
        "attacks": [vars(o) for o in outcomes],
    }


def _num(value: object, digits: int = 2) -> str:
    return "" if value is None else f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def render(result: dict[str, object]) -> str:
    rows = result["attacks"]
    info = result["machine"]
    assert isinstance(rows, list) and isinstance(info, dict)
    lines = [
        f"# tgfetch under attack (issues 11 and 26): {result.get('label', '')}",
        "",
        f"Measured {result['measured_at']} on {machine_line(info)}; {result['seconds']} s.",
        f"Goals: peak RSS below {PEAK_GOAL_MB:.0f} MB ({DECODE_GOAL_MB:.0f} MB for the decode "
        f"bombs), every stop within {STOP_GOAL_S:.0f} s.",
        "",
        "| attack | peak RSS MB | answer s | stop → free s | thread s | closed s | answer |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| `{row['name']}` | {_num(row['peak_rss_mb'], 1)} | {_num(row['answer_s'])} "
            f"| {_num(row['stop_to_free_s'])} | {_num(row['thread_s'])} "
            f"| {_num(row['closed_s'])} | {row['answer']} |"
        )
    lines += ["", "What each attack is, and notes:", ""]
    for row in rows:
        settings = ", ".join(f"{k}={v}" for k, v in row["settings"].items()) or "defaults"
        notes = "; ".join(row["notes"])
        lines.append(f"- `{row['name']}`: {row['what']} ({settings}). {notes}".rstrip())
    worst_peak = max(float(r["peak_rss_mb"]) for r in rows)
    stops = [float(r["stop_to_free_s"]) for r in rows if r["stop_to_free_s"] is not None]
    lines += [
        "",
        f"Worst peak {worst_peak:.1f} MB (goal < {PEAK_GOAL_MB:.0f}); slowest stop "
        f"{max(stops, default=0.0):.2f} s (goal ≤ {STOP_GOAL_S:.0f}).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--main", type=Path, default=MAIN, help="the daemon's main.py")
    parser.add_argument("--label", default="", help="results go to attack-LABEL.{json,md}")
    parser.add_argument("--only", nargs="*", default=[], help="attack names")
    args = parser.parse_args()
    result = asyncio.run(suite(args.main.resolve(), set(args.only), args.label))
    markdown = render(result)
    json_path, md_path = write(
        f"attack-{args.label}" if args.label else "attack", result, markdown
    )
    say(markdown)
    progress(f"wrote {json_path} and {md_path}")
    rows = result["attacks"]
    assert isinstance(rows, list)
    goals = {a.name: a.goal_mb for a in attacks()}
    met = all(float(r["peak_rss_mb"]) < goals[str(r["name"])] for r in rows) and all(
        r["stop_to_free_s"] is None or float(r["stop_to_free_s"]) <= STOP_GOAL_S for r in rows
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
