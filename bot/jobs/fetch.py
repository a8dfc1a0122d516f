"""The fetch stage: the URL's own answer picks the route, a plain file or a media page.

A plain file streams to disk at once. A page goes to yt-dlp, which finds the media; the
pipeline settles the format (it may ask the user) before anything is downloaded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.download.cancel import CancelToken
from bot.download.http import HttpFetcher, is_page
from bot.download.types import FetchedFile, TransferFn
from bot.download.ytdlp import PageInfo, YtdlpFetcher
from bot.model.job import FormatChoice

FILE_CHOICE = "file"  # cache key for plain files, which have no format choice

# Settles the format of a media page; None: the pipeline answered the job otherwise.
Choose = Callable[[PageInfo], Awaitable[FormatChoice | None]]


@dataclass(frozen=True, slots=True)
class Fetched:
    files: tuple[FetchedFile, ...]
    choice: str  # the format, as the file_id cache knows it


class FetchStage(Protocol):
    """What the pipeline asks of its fetch stage (Fetcher here; bot/remote's front has one
    that fetches nothing)."""

    @property
    def max_size(self) -> int: ...

    async def fetch(
        self,
        url: str,
        folder: Path,
        progress: TransferFn,
        cancel: CancelToken,
        cap: int,
        choose: Choose,
    ) -> Fetched | None: ...


class FetchElsewhereError(Exception):
    """Raised by a fetch stage of a process that downloads nothing (the front of a bot with
    workers): the pipeline lets it through, nothing recorded, and the job goes to a worker."""


class Fetcher:
    """Downloads by the route the URL's answer calls for."""

    def __init__(self, http: HttpFetcher, ytdlp: YtdlpFetcher) -> None:
        self._http = http
        self._ytdlp = ytdlp

    @property
    def max_size(self) -> int:
        return self._http.max_size

    async def fetch(
        self,
        url: str,
        folder: Path,
        progress: TransferFn,
        cancel: CancelToken,
        cap: int,
        choose: Choose,
    ) -> Fetched | None:
        """The files fetched into `folder`, at most `cap` bytes each; None when `choose` said
        to stop."""
        async with self._http.open(url) as response:
            if not is_page(response):
                saved = await self._http.save(response, folder, progress, cancel, cap)
                return Fetched((saved,), FILE_CHOICE)
        page = await self._ytdlp.extract(url, cancel)
        choice = await choose(page)
        if choice is None:
            return None
        fetched = await self._ytdlp.download(page, choice, folder, progress, cancel, cap)
        return Fetched((fetched,), str(choice))
