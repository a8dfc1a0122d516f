"""A cgroup v2 of one's own for a child, where the machine delegates one: memory.max does what
the /proc watchdog does, in the kernel, with no spike missed between two readings.

A cgroup can take a child only as a sibling of the guard's own cgroup (cgroup v2 has no
processes in a cgroup whose controllers are handed down), so it is used only when that parent
hands the memory controller down and is writable, and is not one of systemd's slices (a
service's sibling would escape the service's own MemoryMax). Under systemd that is a unit with
`Delegate=memory` and `DelegateSubgroup=` (systemd 254 and later); elsewhere the watchdog runs.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PROC_SELF = Path("/proc/self")


@dataclass(frozen=True, slots=True)
class Cgroup:
    """A cgroup made for one child, removed once it is empty."""

    path: Path

    @classmethod
    def make(cls, limit: int, name: str, proc: Path = PROC_SELF) -> Cgroup | None:
        """A new cgroup holding at most `limit` bytes with no swap, or None where none can be
        made (no cgroup v2, no memory controller handed down, nothing writable)."""
        parent = delegated_parent(proc)
        if parent is None:
            return None
        path = parent / name
        try:
            path.mkdir()
        except OSError:
            return None
        group = cls(path)
        try:
            (path / "memory.max").write_text(str(limit))
            swap = path / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
            (path / "memory.oom.group").write_text("1")  # the whole child, not a thread of it
        except OSError:
            group.remove()
            return None
        return group

    def enter(self) -> None:
        """Put the calling process in (from a child before it runs the program)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def exceeded(self) -> bool:
        """Whether the kernel ended a process here for passing memory.max."""
        try:
            events = (self.path / "memory.events").read_text()
        except OSError:
            return False
        counts = dict(line.split() for line in events.splitlines() if line.count(" ") == 1)
        return int(counts.get("oom_kill", "0")) > 0 or int(counts.get("oom_group_kill", "0")) > 0

    def peak(self) -> int:
        """The most it held (memory.peak, Linux 5.19 and later), else what it holds now."""
        for name in ("memory.peak", "memory.current"):
            with contextlib.suppress(OSError, ValueError):
                return int((self.path / name).read_text())
        return 0

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


def delegated_parent(proc: Path = PROC_SELF) -> Path | None:
    """The cgroup v2 directory a sibling of ours may be made in, or None."""
    mount = _cgroup2_mount(proc)
    own = _own_cgroup(proc)
    if mount is None or own is None or own in ("", "/"):
        return None
    parent = (mount / own.lstrip("/")).parent
    if parent == mount or parent.name.endswith(".slice"):
        return None
    try:
        handed_down = (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    if "memory" not in handed_down or not os.access(parent, os.W_OK):
        return None
    return parent


def _own_cgroup(proc: Path) -> str | None:
    try:
        lines = (proc / "cgroup").read_text().splitlines()
    except OSError:
        return None
    return next((line[3:] for line in lines if line.startswith("0::")), None)


def _cgroup2_mount(proc: Path) -> Path | None:
    try:
        lines = (proc / "mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        after = line.split(" - ", 1)[1].split()
        if after and after[0] == "cgroup2":
            return Path(fields[4])
    return None
