"""glibc's heap: freed memory goes back to the system on a trim, two arenas unless the operator
said otherwise, and nothing at all on another C library."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.ops.heap import Heap, QuietTrim, resident_kb, trim_now_and_then

MB = 1024


def test_a_trim_gives_back_what_python_freed() -> None:
    heap = Heap.of_this_process()
    if not heap.is_glibc:
        pytest.skip("glibc only")
    # 60 MB in blocks glibc serves (over pymalloc's 512 bytes), freed but for the last one,
    # which pins the top of the heap: only a trim can give the pages below it back.
    blocks = [bytes(4000) + bytes([n % 256]) for n in range(15_000)]
    last = blocks[-1]
    del blocks
    held = resident_kb()
    assert heap.trim()
    after = resident_kb()
    assert held is not None and after is not None
    assert after < held - 30 * MB, (held, after)
    assert last


def test_the_operators_settings_stand(monkeypatch: pytest.MonkeyPatch) -> None:
    heap = Heap.of_this_process()
    if not heap.is_glibc:
        pytest.skip("glibc only")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert heap.tune() == ["MALLOC_MMAP_THRESHOLD_=131072"]
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert heap.tune() == []


def test_without_glibc_nothing_is_done() -> None:
    heap = Heap(None)
    assert not heap.is_glibc
    assert heap.tune() == []
    assert not heap.trim()


class _Trims(logging.Handler):
    """Sets `twice` on the second heap_trimmed line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen = 0
        self.twice = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "heap_trimmed" in record.getMessage():
            self.seen += 1
            if self.seen >= 2:
                self.twice.set()


async def test_the_trimmer_trims_until_cancelled() -> None:
    heap = Heap.of_this_process()
    if not heap.is_glibc:
        pytest.skip("glibc only")
    logger = logging.getLogger("bot.ops.heap")
    trims = _Trims()
    logger.addHandler(trims)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        task = asyncio.create_task(trim_now_and_then(heap, every_s=0.01))
        await asyncio.wait_for(trims.twice.wait(), 30)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        logger.removeHandler(trims)
        logger.setLevel(level)


def test_the_quiet_trim_trims_at_most_once_a_gap() -> None:
    now, trims = [100.0], [0]

    def trim() -> bool:
        trims[0] += 1
        return True

    quiet = QuietTrim(trim, clock=lambda: now[0], gap_s=10.0)
    quiet()
    quiet()  # the last job of another burst, within the gap
    assert trims[0] == 1
    now[0] += 10.0
    quiet()
    assert trims[0] == 2
