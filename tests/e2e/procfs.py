"""What a process tree holds right now, read from /proc: memory, threads, open descriptors."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
KB = 1024
MB = 1024 * 1024


def _status(pid: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def _kb(value: str | None) -> int:
    return int(value.split()[0]) * KB if value else 0


def _cmdline(pid: int) -> bytes:
    return (PROC / str(pid) / "cmdline").read_bytes()


def _parent(pid: int) -> int | None:
    """The parent pid from /proc/<pid>/stat (the command name may hold spaces and parens)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used, its reaped children included."""
    stat = (PROC / str(pid) / "stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = sum(int(fields[n]) for n in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every living descendant of `pid` (this kernel has no /proc/<pid>/task/*/children)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


@dataclass(frozen=True, slots=True)
class TreeSample:
    """One reading of a daemon and its children, in bytes."""

    rss: int  # the daemon's resident set plus its living children's
    daemon_rss: int
    daemon_hwm: int  # the daemon's own peak resident set since it started
    children: int
    children_hwm: int  # the living children's own peaks (a spike between readings counts)
    threads: int  # the daemon's
    fds: int  # the daemon's open file descriptors


def sample(pid: int) -> TreeSample:
    """Read the tree now; children that exit while being read are skipped."""
    status = _status(pid)
    rss = own = _kb(status.get("VmRSS"))
    kids = descendants(pid)
    hwm = 0
    command = _cmdline(pid)
    for child in kids:
        with contextlib.suppress(OSError):
            if _cmdline(child) == command:
                # Forked (or vforked) and not yet exec'd: its pages are the daemon's own, which
                # /proc would count twice (a cgroup, systemd's MemoryMax, counts them once).
                continue
            fields = _status(child)
            rss += _kb(fields.get("VmRSS"))
            hwm += _kb(fields.get("VmHWM"))
    return TreeSample(
        rss=rss,
        daemon_rss=own,
        daemon_hwm=_kb(status.get("VmHWM")),
        children=len(kids),
        children_hwm=hwm,
        threads=int(status.get("Threads", "0")),
        fds=sum(1 for _ in (PROC / str(pid) / "fd").iterdir()),
    )
