"""glibc's heap kept close to what the process uses: two arenas, large buffers given back at
once, and freed pages given back now and then.

glibc gives each thread that allocates its own arena (up to eight per core), and an arena keeps
the pages its thread freed. The daemon's downloads, DNS lookups, SQLite readers and yt-dlp run
on pool threads, so over hours its RSS crept with no Python object behind it (+10.9 MB in a
20-minute soak, docs/BENCHMARKS.md). And glibc raises its mmap threshold each time a large
block is freed, so the 256 KB buffers of downloads and uploads end up in the arenas, where they
fragment them. Here: at most two arenas (glibc's `MALLOC_ARENA_MAX=2`), blocks of 128 KB and
more always mapped on their own (`MALLOC_MMAP_THRESHOLD_`, which also fixes the trim
threshold), and a trim every minute. An operator who sets either variable keeps their value.
On a C library other than glibc nothing is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter numbers (glibc's malloc.h)
M_MMAP_THRESHOLD = -3
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024  # glibc's starting value, kept from rising
TRIM_EVERY_S = 60.0  # a trim walks the heap under its lock: 0.5-1.5 ms for the soak's 130 MB
QUIET_GAP_S = 10.0  # at most one trim this often when the last job ends


class Heap:
    """glibc's allocator, or nothing (another C library: every call is a no-op)."""

    def __init__(self, libc: ctypes.CDLL | None) -> None:
        self._libc = libc

    @classmethod
    def of_this_process(cls) -> Heap:
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name)
            libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError, TypeError):  # not glibc, or no C library by that name
            return cls(None)
        return cls(libc)

    @property
    def is_glibc(self) -> bool:
        return self._libc is not None

    def tune(self, arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> list[str]:
        """At most `arenas` arenas, blocks from `mmap_threshold` up mapped on their own: call
        it before any thread starts. Returns what was set (not what the operator's
        MALLOC_ARENA_MAX or MALLOC_MMAP_THRESHOLD_ set, nor anything but on glibc)."""
        done: list[str] = []
        for variable, param, value in (
            ("MALLOC_ARENA_MAX", M_ARENA_MAX, arenas),
            ("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, mmap_threshold),
        ):
            if self._libc is None or variable in os.environ:
                continue
            if self._libc.mallopt(param, value):
                done.append(f"{variable}={value}")
        return done

    def trim(self) -> bool:
        """Give the pages free in every arena back to the system; True when some were."""
        return self._libc is not None and bool(self._libc.malloc_trim(0))


class QuietTrim:
    """What the job manager calls when its last running job ends: a burst's buffers go back to
    the system then, not up to a minute later (at most once per `gap_s`)."""

    def __init__(
        self,
        trim: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
        gap_s: float = QUIET_GAP_S,
    ) -> None:
        self._trim = trim
        self._clock = clock
        self._gap_s = gap_s
        self._last: float | None = None

    def __call__(self) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self._gap_s:
            return
        self._last = now
        self._trim()


def resident_kb() -> int | None:
    """This process's resident set, from /proc (None where there is no /proc)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


async def trim_now_and_then(heap: Heap, every_s: float = TRIM_EVERY_S) -> None:
    """Trim the heap every `every_s`, for the life of the process (a task that ends only when
    cancelled, as a worker expects of what it serves); each trim a DEBUG line."""
    while True:
        await asyncio.sleep(every_s)
        if not heap.is_glibc:
            continue
        before = resident_kb()
        began = time.monotonic()
        heap.trim()
        took_ms = (time.monotonic() - began) * 1000
        after = resident_kb()
        if before is not None and after is not None:
            log.debug("heap_trimmed rss_kb=%d->%d ms=%.1f", before, after, took_ms)
