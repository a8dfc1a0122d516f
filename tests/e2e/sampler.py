"""Samples a daemon's process tree in the background while a benchmark or the soak runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType
from typing import Self

from tests.e2e.procfs import TreeSample, sample


class Sampler:
    """Reads /proc every `interval` seconds into `samples` until closed (or the process exits)."""

    def __init__(self, pid: int, interval: float) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, TreeSample]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def peak_rss(self) -> int:
        """The largest tree RSS seen, counting each living child at its own peak (a decoder's
        spike between two readings is not missed), or the daemon's own peak if larger."""
        return max(
            (max(s.rss, s.daemon_hwm, s.daemon_rss + s.children_hwm) for _, s in self.samples),
            default=0,
        )

    def take(self) -> TreeSample | None:
        """One sample now, kept with the others; None once the process is gone."""
        try:
            reading = sample(self.pid)
        except OSError:
            return None
        self.samples.append((time.monotonic(), reading))
        return reading

    async def _run(self) -> None:
        while True:
            if self.take() is None:
                return
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.take()
