"""A file read by an upload that reports how far the upload got, and holds its last byte for a
fence (telegram_io/held.py)."""

from __future__ import annotations

import io
import time

from bot.upload.types import Fence, ProgressFn

PROGRESS_INTERVAL = 0.25  # seconds between progress reports while a file streams out


class ProgressFile(io.FileIO):
    """A file opened for reading whose reads report progress, at most every `interval`. A
    request carrying it holds its last byte until `fence` passes (telegram_io/held.py)."""

    def __init__(
        self,
        path: str,
        total: int,
        progress: ProgressFn,
        interval: float = PROGRESS_INTERVAL,
        fence: Fence | None = None,
    ) -> None:
        super().__init__(path, "rb")
        self.fence = fence
        self._total = total
        self._progress = progress
        self._interval = interval
        self._last = 0.0

    def holding(self, held: bool) -> None:
        """The request holds the file's last byte (True) or lets it go (False): until it goes,
        Telegram cannot have the file, and the upload shows one byte short of handed over."""
        self._progress(max(0, self._total - 1) if held else self._total, self._total)

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size) or b""
        position = self.tell()
        now = time.monotonic()
        if position >= self._total or not chunk or now - self._last >= self._interval:
            self._last = now
            self._progress(min(position, self._total), self._total)
        return chunk


def offset(progress: ProgressFn, base: int, total: int) -> ProgressFn:
    """One file's progress as the album's: its bytes after those of the files before it."""

    def report(done: int, _size: int) -> None:
        progress(base + done, total)

    return report
