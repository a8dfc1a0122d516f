"""A file still being written by a download of known size, read as its bytes reach the disk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

CHUNK = 256 * 1024


class GrowingFile:
    """How much of a file is on disk, told by its writer (`grew`, then `complete`); `chunks`
    reads it in order, waiting for more. Its last byte is held back until the writer says the
    file is complete, so a request carrying it is never whole before the download is."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._have = 0
        self._complete = False
        self._changed = asyncio.Event()

    def grew(self, have: int) -> None:
        self._have = have
        self._changed.set()

    def complete(self) -> None:
        self._complete = True
        self._changed.set()

    async def chunks(self) -> AsyncIterator[bytes]:
        # Blocking reads of one chunk at a time from what was just written: page-cache speed,
        # as PTB's own uploads read files on the loop.
        with self.path.open("rb") as handle:
            sent = 0
            while sent < self.size:
                ready = self.size if self._complete else min(self._have, self.size - 1)
                if sent >= ready:
                    self._changed.clear()
                    await self._changed.wait()
                    continue
                piece = handle.read(min(CHUNK, ready - sent))
                if not piece:
                    raise OSError(f"{self.path.name} ended at {sent} of {self.size} bytes")
                sent += len(piece)
                yield piece
