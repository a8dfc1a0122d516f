"""glibc's heap kept close to what the process uses: two arenas, and freed pages given back.

glibc gives each thread that allocates its own arena (up to eight per core), and an arena keeps
the pages its thread freed. The daemon's downloads, DNS lookups, SQLite readers and yt-dlp run
on pool threads, so over hours its RSS creeps with no Python object behind it (the soak in
docs/BENCHMARKS.md: +10.9 MB in 20 minutes; with two arenas and a trim, the same as Python's
own heap). Two arenas are what glibc's `MALLOC_ARENA_MAX=2` would give; an operator who sets
that variable keeps their value. On a C library other than glibc nothing is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter number for the arena cap (glibc's malloc.h)
ARENAS = 2
TRIM_EVERY_S = 300.0  # a trim walks the heap under its lock: a few ms for ~100 MB


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

    def cap_arenas(self, arenas: int = ARENAS) -> bool:
        """At most `arenas` arenas: call it before any thread starts. False when the operator's
        MALLOC_ARENA_MAX stands, or the C library is not glibc."""
        if self._libc is None or "MALLOC_ARENA_MAX" in os.environ:
            return False
        return bool(self._libc.mallopt(M_ARENA_MAX, arenas))

    def trim(self) -> bool:
        """Give the pages free in every arena back to the system; True when some were."""
        return self._libc is not None and bool(self._libc.malloc_trim(0))


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
