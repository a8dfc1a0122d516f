"""How long a stop takes, at awkward moments: the figures the e2e tests only bound generously.

`make bench-stop` (or as part of `make bench`): each case starts a fresh daemon against the
fakes, brings it to the moment, sends SIGTERM (or revokes the token) and times the exit.
Goal: every exit within 3 s. Writes bench/results/stop-latest.json and .md when run alone.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.report import machine, machine_line, now, progress, say, write
from bench.stack import Stack
from bench.stats import median
from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import FakeBotApi

GOAL_S = 3.0
RUNS = 3
EXIT_WITHIN_S = 60.0
ADMIN = "42"  # a third menu to retry
Moment = Callable[[Stack, Daemon], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    meaning: str
    prepare: Callable[[FakeBotApi], None]
    moment: Moment
    settings: dict[str, str]
    revoke: bool = False  # end it with a 401 on getUpdates instead of SIGTERM


def _nothing(_api: FakeBotApi) -> None:
    return None


async def _one_second_after_start(_stack: Stack, _daemon: Daemon) -> None:
    await asyncio.sleep(1.0)  # the moment itself: 1 s after the process was spawned


async def _after_started(_stack: Stack, daemon: Daemon) -> None:
    await daemon.wait_log("started version=", timeout=30)


async def _during_getme_retries(stack: Stack, _daemon: Daemon) -> None:
    await stack.api.wait_for(lambda c: c.method == "getMe" and c.status == 500, 30)


async def _during_a_download(stack: Stack, _daemon: Daemon) -> None:
    await _after_started(stack, _daemon)
    stack.api.push_message(4242, stack.media.url("/file/long.bin?size=50000000&rate=500000"))
    await stack.api.wait_for_text(4242, "Downloading", timeout=30)


async def _during_a_stalled_upload_answer(stack: Stack, daemon: Daemon) -> None:
    await _after_started(stack, daemon)
    stack.api.set_slow("sendDocument", 600)
    stack.api.push_message(4243, stack.media.url("/file/up.bin?size=200000"))
    await daemon.wait_log("http_saved", timeout=30)  # downloaded: the upload is under way


CASES = (
    Case(
        "menus_500_sigterm_1s",
        "SIGTERM 1 s after the process started; setMyCommands answers 500 (3 menus retried)",
        lambda api: api.fail_next("setMyCommands", 500, count=1000),
        _one_second_after_start,
        {"ADMIN_IDS": ADMIN},
    ),
    Case(
        "getme_retries",
        "SIGTERM while getMe is retried against 500s (start-up never finished)",
        lambda api: api.fail_next("getMe", 500, count=1000),
        _during_getme_retries,
        {},
    ),
    Case("idle", "SIGTERM once started, nothing to do", _nothing, _after_started, {}),
    Case(
        "download",
        "SIGTERM during a throttled plain download (the job resumes next start)",
        _nothing,
        _during_a_download,
        {},
    ),
    Case(
        "upload_answer_stalled",
        "SIGTERM while Telegram holds the answer to an upload",
        _nothing,
        _during_a_stalled_upload_answer,
        {},
    ),
    Case(
        "token_revoked",
        "getUpdates starts answering 401: from the first 401 to the exit (code 1)",
        _nothing,
        _after_started,
        {},
        revoke=True,
    ),
)


async def _run_case(case: Case, root: Path) -> tuple[float, int | None, str]:
    with tempfile.TemporaryDirectory(prefix="tgfetch-stop-", dir=root) as scratch:
        async with Stack(Path(scratch)) as stack:
            case.prepare(stack.api)
            daemon = await stack.start_daemon(Path(scratch) / "data", case.settings, wait=False)
            await case.moment(stack, daemon)
            if case.revoke:
                stack.api.reject_get_updates(401)
                await stack.api.wait_for(lambda c: c.method == "getUpdates" and c.status == 401)
            else:
                daemon.signal()
            began = time.monotonic()
            code = await daemon.wait_exit(EXIT_WITHIN_S)
            seconds = time.monotonic() - began
            last = daemon.lines[-1] if daemon.lines else ""
            return seconds, code, last.split(": ", 1)[-1]


async def measure(runs: int = RUNS) -> dict[str, object]:
    """Every case `runs` times; the worst exit of all is the figure that meets the goal."""
    cases: dict[str, object] = {}
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="tgfetch-stop-bench-") as root:
        for case in CASES:
            times, codes, lasts = [], [], []
            for _ in range(runs):
                seconds, code, last = await _run_case(case, Path(root))
                times.append(seconds)
                codes.append(code)
                lasts.append(last)
            worst = max(worst, *times)
            cases[case.name] = {
                "meaning": case.meaning,
                "seconds": [round(t, 3) for t in times],
                "median_s": round(median(times), 3),
                "max_s": round(max(times), 3),
                "exit_codes": codes,
                "last_lines": sorted(set(lasts)),
            }
    return {"stop_max_s": round(worst, 3), "goal_s": GOAL_S, "cases": cases}


def render(result: dict[str, object]) -> str:
    cases = result["cases"]
    assert isinstance(cases, dict)
    lines = [
        "| case | median s | max s | exit codes | last log line |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for name, case in cases.items():
        assert isinstance(case, dict)
        last = "; ".join(f"`{line}`" for line in case["last_lines"])
        lines.append(
            f"| {name}: {case['meaning']} | {case['median_s']} | {case['max_s']} "
            f"| {case['exit_codes']} | {last} |"
        )
    lines += ["", f"Worst exit of all: {result['stop_max_s']} s (goal < {result['goal_s']} s)."]
    return "\n".join(lines)


def main() -> int:
    progress("stop latency…")
    result = asyncio.run(measure())
    info = machine()
    markdown = "\n".join(
        [
            "# tgfetch stop latency",
            "",
            f"Measured {now()} on {machine_line(info)}.",
            "",
            render(result),
        ]
    )
    write("stop-latest", {"measured_at": now(), "machine": info, **result}, markdown)
    say(markdown)
    worst = result["stop_max_s"]
    return 0 if isinstance(worst, float) and worst < GOAL_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
