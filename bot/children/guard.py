"""A child bounded by resident memory and time: for V8 programs (deno, a headless browser),
which reserve far more address space than they use, so that no rlimit fits them.

`run_bounded` starts the program in a session of its own with the caller's stdin, stdout and
stderr, and ends it (its whole process group and every descendant) once it holds more than the
ceiling or runs past its deadline. The ceiling is a cgroup v2's memory.max where the machine
delegates one (cgroup.py), else a watchdog that reads the tree's resident memory from /proc
every `interval` seconds (and each process's own peak, VmHWM, so a spike between readings still
counts). It is used as a wrapper process (`python guard.py --max-mb N -- program args...`,
written by wrappers.py), so it must stay single-threaded and import nothing but the standard
library and cgroup.py.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.children.cgroup import Cgroup

PROC = Path("/proc")
MB = 1024 * 1024
INTERVAL_S = 0.05
# The program's own memory is read every interval; its descendants are looked for every this
# many (a scan of /proc costs about 8 ms with a hundred processes; deno starts none).
SCAN_EVERY = 10
EXCEEDED = 137  # the status a program killed for its memory leaves (128 + SIGKILL), as with OOM
TIMED_OUT = 124  # as timeout(1)
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Ended:
    """How a bounded run ended: its exit status, and why the guard ended it (or None)."""

    status: int
    killed: str | None = None  # "memory" or "time"
    peak: int = 0  # the most the tree held, in bytes, as far as the guard saw


def run_bounded(
    argv: Sequence[str],
    limit: int,
    *,
    max_seconds: float | None = None,
    interval: float = INTERVAL_S,
    cgroups: bool = True,
    pass_fds: Sequence[int] = (),
) -> Ended:
    """Run `argv` to its end with at most `limit` bytes resident, within `max_seconds`.
    `pass_fds`: descriptors the program gets as they are (a browser's DevTools pipe, 3 and 4)."""
    group = Cgroup.make(limit, f"tgfetch-guard-{os.getpid()}") if cgroups else None

    def in_child() -> None:
        _die_with_parent()
        if group is not None:
            group.enter()

    forwarded = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    # preexec_fn is safe here: the guard is a process of its own, with one thread.
    process = subprocess.Popen(  # noqa: S603
        argv, preexec_fn=in_child, start_new_session=True, pass_fds=tuple(pass_fds)
    )
    previous = {
        number: signal.signal(number, lambda n, _f: _signal_tree(process.pid, n))
        for number in forwarded
    }
    try:
        killed, peak = _watch(process, limit, max_seconds, interval, watch_rss=group is None)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if process.poll() is None:
            _kill_tree(process.pid)
            process.wait()
    if group is not None:
        if group.exceeded():
            killed = "memory"
        peak = max(peak, group.peak())
        _kill_tree(process.pid)  # anything left behind in the group
        group.remove()
    status = process.returncode
    if killed == "memory":
        status = EXCEEDED
    elif killed == "time":
        status = TIMED_OUT
    elif status < 0:
        status = 128 - status
    return Ended(status, killed, peak)


def _watch(
    process: subprocess.Popen[bytes],
    limit: int,
    max_seconds: float | None,
    interval: float,
    *,
    watch_rss: bool,
) -> tuple[str | None, int]:
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    peak = 0
    members = [process.pid]
    for poll in itertools.count(1):
        try:
            process.wait(interval)
        except subprocess.TimeoutExpired:
            pass
        else:
            return None, peak
        if watch_rss:
            if poll % SCAN_EVERY == 0:
                members = [process.pid, *descendants(process.pid)]
            held = resident(members)
            peak = max(peak, held)
            if held > limit:
                _kill_tree(process.pid)
                return "memory", peak
        if deadline is not None and time.monotonic() > deadline:
            _kill_tree(process.pid)
            return "time", peak
    raise AssertionError("unreachable")  # pragma: no cover


def resident(pids: Sequence[int]) -> int:
    """The resident memory of `pids`, each at its own peak (VmHWM): a process that passed the
    ceiling between two readings has still passed it."""
    total = 0
    for member in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in (PROC / str(member) / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
    return total


def descendants(pid: int) -> list[int]:
    """Every living descendant of `pid`, by the parent each process names in /proc."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _signal_tree(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, number)


def _kill_tree(pid: int) -> None:
    """SIGKILL to the program's process group and to every descendant that left it."""
    found = descendants(pid)
    _signal_tree(pid, signal.SIGKILL)
    for member in found:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)


def _die_with_parent() -> None:
    """The program is killed if the guard itself is (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def main(argv: Sequence[str] | None = None) -> int:
    """`guard.py --max-mb N [--max-seconds S] [--name NAME] -- program args...`"""
    parser = argparse.ArgumentParser(prog="guard", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-mb", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--name", default=None, help="the program's name in the message")
    parser.add_argument("--pass-fds", default="", help="descriptors passed on, e.g. 3,4")
    given = list(sys.argv[1:] if argv is None else argv)
    if "--" not in given or given.index("--") == len(given) - 1:
        parser.error("the program to run goes after --")
    split = given.index("--")
    args, program = parser.parse_args(given[:split]), given[split + 1 :]
    fds = [int(fd) for fd in args.pass_fds.split(",") if fd]
    ended = run_bounded(program, args.max_mb * MB, max_seconds=args.max_seconds, pass_fds=fds)
    name = args.name or Path(program[0]).name
    if ended.killed == "memory":
        print(  # noqa: T201 - the wrapper's one line, for whoever started the program
            f"tgfetch: {name} ended: it passed its memory ceiling of {args.max_mb} MB "
            f"(CHILD_MEMORY_MB), {ended.peak / MB:.0f} MB resident",
            file=sys.stderr,
        )
    elif ended.killed == "time":
        print(  # noqa: T201
            f"tgfetch: {name} ended: it ran past its {args.max_seconds:.0f} s deadline",
            file=sys.stderr,
        )
    return ended.status


if __name__ == "__main__":
    sys.exit(main())
