"""The daemon with a memory probe, for `bench.soak --probe`: where does its RSS go?

Each SIGUSR2 appends one JSON line to TRACE_DIR/probe.jsonl and logs `memory_probe n=N`:
RSS split into anonymous and file-backed pages (/proc/self/smaps_rollup), Python's allocated
blocks, pymalloc's arenas, glibc's heap (mallinfo2: in use, free but held, mmapped), the
threads, and the 60 most common types among the objects the garbage collector tracks. With
TRACE_FRAMES=N (N > 0) tracemalloc runs too and each SIGUSR2 also writes snapshot-N.pickle.
SIGUSR1 calls glibc's malloc_trim(0) between two probes: how much of the RSS is memory glibc
holds after Python freed it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import runpy
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
KB = 1024
TYPES = 60


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _Mallinfo2
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return libc


def _sqlite(lib: ctypes.CDLL) -> dict[str, int]:
    """SQLite's own memory (every connection's page cache, schema and statements), from
    the library the sqlite3 module uses."""
    current, peak = ctypes.c_int64(), ctypes.c_int64()
    found = {}
    for name, op in (("memory", 0), ("pagecache_overflow", 2)):
        lib.sqlite3_status64(op, ctypes.byref(current), ctypes.byref(peak), 0)
        found[f"{name}_kb"], found[f"{name}_peak_kb"] = current.value // KB, peak.value // KB
    return found


def _rollup() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[name] = int(value.split()[0])
    return fields


def _pymalloc() -> dict[str, int]:
    """pymalloc's arenas and the bytes in its used and free blocks (sys._debugmallocstats,
    which writes to the C stderr: caught in a file for the moment)."""
    with tempfile.TemporaryFile("w+") as caught:
        saved = os.dup(2)
        try:
            os.dup2(caught.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        text = caught.read()
    wanted = {
        "# arenas allocated current": "arenas",
        "# bytes in allocated blocks": "used_bytes",
        "# bytes in available blocks": "free_bytes",
        "# bytes lost to pool headers": "pool_headers",
        "# bytes lost to quantization": "quantization",
        "Total": "arena_bytes",  # the first Total: the arenas (then the arena map's)
    }
    found = {}
    for line in text.splitlines():
        name, _, value = line.rpartition("=")
        key = wanted.get(name.strip())
        if key and key not in found:
            with contextlib.suppress(ValueError):
                found[key] = int(value.strip().replace(",", ""))
    return found


def probe(libc: ctypes.CDLL, sqlite: ctypes.CDLL, *, types: bool) -> dict[str, object]:
    began = time.monotonic()
    rollup = _rollup()
    heap = libc.mallinfo2()
    record: dict[str, object] = {
        "t": round(time.time(), 1),
        "rss_kb": rollup.get("Rss"),
        "anon_kb": rollup.get("Anonymous"),
        "file_kb": rollup.get("Pss_File"),
        "py_blocks": sys.getallocatedblocks(),
        "pymalloc": _pymalloc(),
        "glibc_heap_kb": heap.arena // KB,  # main arena and the threads' arenas, sbrk'd
        "glibc_in_use_kb": heap.uordblks // KB,
        "glibc_free_kb": heap.fordblks // KB,  # freed but held by glibc
        "glibc_mmap_kb": heap.hblkhd // KB,
        "sqlite": _sqlite(sqlite),
        "threads": sum(1 for _ in Path("/proc/self/task").iterdir()),
    }
    if tracemalloc.is_tracing():
        record["traced_kb"] = tracemalloc.get_traced_memory()[0] // KB
    if types:
        objects = gc.get_objects()
        record["gc_objects"] = len(objects)
        counts = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
        record["types"] = dict(counts.most_common(TYPES))
        del objects
    record["probe_s"] = round(time.monotonic() - began, 3)
    return record


def main() -> None:
    folder = Path(os.environ["TRACE_DIR"])
    frames = int(os.environ.get("TRACE_FRAMES", "0"))
    libc = _libc()
    sqlite = ctypes.CDLL("libsqlite3.so.0")
    taken = [0]

    def write(record: dict[str, object]) -> None:
        with (folder / "probe.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")

    def on_probe(_signum: int, _frame: FrameType | None) -> None:
        taken[0] += 1
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(folder / f"snapshot-{taken[0]}.pickle"))
        record = {"n": taken[0], "what": "probe", **probe(libc, sqlite, types=True)}
        write(record)
        print(f"memory_probe n={taken[0]} rss_kb={record['rss_kb']}", file=sys.stderr)

    def on_trim(_signum: int, _frame: FrameType | None) -> None:
        before = probe(libc, sqlite, types=False)
        began = time.monotonic()
        libc.malloc_trim(0)
        took_ms = (time.monotonic() - began) * 1000
        after = probe(libc, sqlite, types=False)
        write({"n": taken[0], "what": "trim", "took_ms": round(took_ms, 2), "before": before,
               "after": after})  # fmt: skip
        print(
            f"memory_trim rss_kb={before['rss_kb']}->{after['rss_kb']} ms={took_ms:.1f}",
            file=sys.stderr,
        )

    if frames:
        tracemalloc.start(frames)
    signal.signal(signal.SIGUSR2, on_probe)
    signal.signal(signal.SIGUSR1, on_trim)
    sys.path.insert(0, str(ROOT))
    sys.argv = [str(ROOT / "main.py"), *sys.argv[1:]]
    runpy.run_path(str(ROOT / "main.py"), run_name="__main__")


if __name__ == "__main__":
    main()
