"""Issue 22's figures: a burst of 200 links from 50 users against Telegram's flood limits.

The fake Bot API enforces Telegram's limits (tests/fakes/flood.py: 30 calls a second for the
bot, a bucket of 3 refilled at one a second per private chat, 429 with retry_after, calls into
a running retry_after counted). 50 users send 4 links each to 64 KB files, all at once (one
message a link, the users' first links first, then their second...). Measured:

- `burst_200_s`: from the first link pushed to the 200th file delivered.
- `burst_ratio`: that ÷ a naive uploader against the same limits in the same run (download,
  then sendDocument, four at a time, sleeping retry_after on a 429).
- `calls_per_file`: every call the bot made that names a chat (sends, edits, deletes, chat
  actions, the 429-answered ones too), from the first link to the last job's end, per file.
- `retry_after_violations`: calls the bot made into a running retry_after of their scope.
- every file delivered exactly once (`burst_duplicates`, `burst_delivered`).

`python -m bench.burst [--main other/main.py] [--label ...] [--cap 240] [--runs 3]` runs only
this, e.g. against main's daemon for a before-figure; `--limiter ptb` runs the daemon with PTB's
own AIORateLimiter in place of the bot's outbound path (bench/ptb_limiter.py); `--lenient`
counts the calls of the same burst against the fake that takes any pace.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.measures import Findings
from bench.report import machine, now, progress, say, write
from bench.stack import Stack
from tests.e2e.daemon import MAIN, Daemon
from tests.fakes.bot_api import Call
from tests.fakes.flood import FloodRules
from tests.fakes.records import UPLOAD_METHODS

USERS, PER_USER, SIZE, PARALLEL = 50, 4, 64 * 1024, 4
LINKS = USERS * PER_USER
FIRST_USER, NAIVE_FIRST_USER = 220_001, 230_001
SETTINGS = {
    "DOWNLOAD_WORKERS": str(PARALLEL),
    "MAX_JOBS_PER_USER": str(PER_USER),
    "MAX_QUEUED_JOBS": str(LINKS),
}
CAP_S = 240.0  # the most a run may take: main's daemon never finishes
SETTLE_S = 30.0  # after the last file: the jobs' last words
HTTP_TIMEOUT = 60.0
PTB_MAIN = Path(__file__).resolve().parent / "ptb_limiter.py"


def _url(stack: Stack, n: int, prefix: str) -> str:
    return stack.media.url(f"/file/{prefix}{n}.bin?size={SIZE}")


def _links(stack: Stack, first_user: int, prefix: str) -> list[tuple[int, str]]:
    """(user, url) in the order they are sent: every user's first link, then the second..."""
    return [
        (first_user + user, _url(stack, round_ * USERS + user, prefix))
        for round_ in range(PER_USER)
        for user in range(USERS)
    ]


async def bot_burst(
    stack: Stack, main: Path = MAIN, cap: float = CAP_S, settings: dict[str, str] | None = None
) -> dict[str, object]:
    """The bot's run: 200 links pushed at once; returns what was seen."""
    with tempfile.TemporaryDirectory(prefix="tgfetch-burst-") as scratch:
        daemon = await stack.start_daemon(
            Path(scratch) / "data", {**SETTINGS, **(settings or {})}, main=main
        )
        if stack.api.flood is not None:
            stack.api.flood.reset()
        links = _links(stack, FIRST_USER, "burst")
        wanted: dict[int, list[str]] = {}
        for user, url in links:
            wanted.setdefault(user, []).append(html.escape(url, quote=True))
        mark = stack.api.mark()
        seen: dict[tuple[int, str], int] = Counter()
        last = [0.0]

        def delivered(call: Call) -> bool:
            if call.method in UPLOAD_METHODS and call.ok and isinstance(call.chat_id, int):
                caption = str(call.params.get("caption", ""))
                for mark_ in wanted.get(call.chat_id, []):
                    if mark_ in caption:
                        seen[call.chat_id, mark_] += 1
                        if seen[call.chat_id, mark_] == 1:
                            last[0] = time.monotonic()
            return len(seen) >= LINKS

        began = time.monotonic()
        for user, url in links:
            stack.api.push_message(user, url)
        finished = True
        try:
            await stack.api.wait_for(delivered, cap, after=mark)
        except TimeoutError:
            finished = False
        ended = finished and await _all_ended(daemon, SETTLE_S)
        calls = stack.api.calls[mark:]
        await daemon.stop()
    return _figures(calls, seen, began, last[0], finished, ended, stack)


async def _all_ended(daemon: Daemon, within: float) -> bool:
    try:
        await daemon.wait_lines("job_end", LINKS, within)
    except TimeoutError:
        return False
    return True


def _figures(
    calls: list[Call],
    seen: dict[tuple[int, str], int],
    began: float,
    last: float,
    finished: bool,
    ended: bool,
    stack: Stack,
) -> dict[str, object]:
    flood = stack.api.flood
    chat_calls = [c for c in calls if c.chat_id is not None]
    by_method = Counter(c.method for c in chat_calls)
    limited = Counter(c.method for c in chat_calls if c.status == 429)
    files = len(seen)
    return {
        "finished": finished,
        "jobs_ended": ended,
        "seconds": round((last if finished else time.monotonic()) - began, 2),
        "delivered": files,
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
        "chat_calls": len(chat_calls),
        "calls_per_file": round(len(chat_calls) / files, 3) if files else None,
        "answered_429": sum(limited.values()),
        "limited_by_scope": dict(flood.limited) if flood else None,
        "violations": len(flood.violations) if flood else None,
        "calls_by_method": dict(by_method.most_common()),
        "answered_429_by_method": dict(limited.most_common()),
    }


async def naive_burst(stack: Stack) -> dict[str, object]:
    """Download, then sendDocument, four at a time, sleeping retry_after on a 429."""
    assert stack.api.flood is not None
    stack.api.flood.reset()
    links = _links(stack, NAIVE_FIRST_USER, "naive")
    links.reverse()
    endpoint = f"{stack.api.url}/bot{stack.api.token}/sendDocument"
    attempts = Counter[str]()

    async def lane(client: httpx.AsyncClient) -> None:
        while links:
            user, url = links.pop()
            body = (await client.get(url)).raise_for_status().content
            while True:
                attempts["calls"] += 1
                answer = await client.post(
                    endpoint, data={"chat_id": str(user)}, files={"document": ("f.bin", body)}
                )
                if answer.status_code != 429:
                    answer.raise_for_status()
                    break
                attempts["answered_429"] += 1
                await asyncio.sleep(float(answer.json()["parameters"]["retry_after"]))

    began = time.monotonic()
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client, asyncio.TaskGroup() as group:
        for _ in range(PARALLEL):
            group.create_task(lane(client))
    return {
        "seconds": round(time.monotonic() - began, 2),
        **attempts,
        "violations": len(stack.api.flood.violations),
    }


async def measure(
    root: Path,
    found: Findings,
    main: Path = MAIN,
    cap: float = CAP_S,
    settings: dict[str, str] | None = None,
) -> None:
    """The bot's burst and the naive uploader's, one after the other against one fake."""
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    async with Stack(root, flood=FloodRules()) as stack:
        naive = await naive_burst(stack)
        bot = await bot_burst(stack, main, cap, settings)
    seconds = float(str(bot["seconds"]))
    if bot["finished"]:
        found.metrics["burst_200_s"] = seconds
        found.metrics["burst_ratio"] = seconds / float(str(naive["seconds"]))
    if bot["calls_per_file"] is not None:
        found.metrics["calls_per_file"] = float(str(bot["calls_per_file"]))
    found.metrics["retry_after_violations"] = float(str(bot["violations"]))
    found.metrics["burst_duplicates"] = float(str(bot["duplicates"]))
    found.metrics["burst_delivered"] = float(str(bot["delivered"]))
    found.details["burst"] = {"bot": bot, "naive": naive}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--main", type=Path, default=MAIN, help="the daemon's main.py")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--cap", type=float, default=CAP_S, help="seconds before giving up")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--limiter", choices=("own", "ptb"), default="own", help="ptb: PTB's AIORateLimiter"
    )
    parser.add_argument(
        "--lenient", action="store_true", help="the fake takes any pace: count the calls only"
    )
    return parser.parse_args()


async def suite(args: argparse.Namespace) -> dict[str, object]:
    runs: list[dict[str, object]] = []
    main = PTB_MAIN if args.limiter == "ptb" else args.main
    for run in range(args.runs):
        progress(f"burst run {run + 1} of {args.runs} ({args.label}, limiter {args.limiter})…")
        found = Findings()
        with tempfile.TemporaryDirectory(prefix="tgfetch-bench-") as scratch:
            if args.lenient:  # how many calls the burst costs when nothing limits them
                async with Stack(Path(scratch)) as stack:
                    found.details["burst"] = {"bot": await bot_burst(stack, main, args.cap)}
            else:
                await measure(Path(scratch), found, main, args.cap)
        runs.append({"metrics": found.metrics, "details": found.details})
    return {
        "measured_at": now(),
        "machine": machine(),
        "label": args.label,
        "limiter": args.limiter,
        "settings": SETTINGS,
        "runs": runs,
    }


def main() -> int:
    args = arguments()
    result = asyncio.run(suite(args))
    name = f"burst-{args.limiter}" if args.main == MAIN else "burst-other"
    name += "-lenient" if args.lenient else ""
    write(name, result, json.dumps(result, indent=2))
    runs = result["runs"]
    assert isinstance(runs, list)
    say(json.dumps([run["metrics"] or run["details"] for run in runs], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
