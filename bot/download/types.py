"""Values the fetchers return and the callbacks they report through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

# (bytes so far, total if known); may be called from a worker thread, must be cheap.
TransferFn = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class FetchedFile:
    """A file on disk, and what its page said about it (nothing, for a plain file)."""

    path: Path
    size: int
    title: str | None
    performer: str | None = None
    track: str | None = None  # a song's own name, for an audio file's tags
    cover: Path | None = None  # the page's picture, fetched beside the file


class Watch(Protocol):
    """Told as a plain download of known size fills its file, for work that reads it as it
    grows (an upload while downloading, bot/jobs/stream_through.py). Called on the event loop;
    every byte counted in `grew` is on disk (flushed) when it is called."""

    def begin(self, path: Path, total: int) -> None: ...

    def grew(self, done: int) -> None: ...


class Guard(Protocol):
    """URL safety: refuses private addresses, odd schemes and credentials."""

    async def check(self, url: str, *, resolve: bool = True) -> None: ...

    def check_peer(self, response: httpx.Response) -> None: ...
