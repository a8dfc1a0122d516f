"""The fetch stage: the URL's own answer picks the route, a plain file or a media page.

A plain file streams to disk at once; one a restart cut short continues where it stopped. A
page goes to yt-dlp, which finds the media; the pipeline settles the format (it may ask the
user) before anything is downloaded. For the sound alone, the page's picture is fetched too, as
the cover (through the same guarded, size-capped route as a plain file).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

import httpx

from bot.download import resume
from bot.download.cancel import CancelToken
from bot.download.http import HttpFetcher, is_page
from bot.download.types import FetchedFile, TransferFn, Watch
from bot.download.urls import normalize_url
from bot.download.ytdlp import PageInfo, YtdlpFetcher
from bot.model.failures import FetchError
from bot.model.job import FormatChoice, Job

log = logging.getLogger(__name__)

FILE_CHOICE = "file"  # cache key for plain files, which have no format choice
# The file_id cache of users who take videos as files: a file_id keeps its kind when resent.
AS_FILE_KEY = "#as-file"
# A plain file that is video or sound by its type or its name (it may be sent in parts).
MEDIA_SUFFIXES = frozenset(
    {
        *(".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".flv", ".ts", ".3gp"),
        *(".m4a", ".mp3", ".ogg", ".opus", ".oga", ".flac", ".wav", ".aac"),
    }
)
COVER_MAX_BYTES = 5 * 1024 * 1024  # a page's picture; anything larger is not a cover
COVER_FOLDER = "cover"


def cache_key(job: Job) -> str:
    """The job's link as the file_id cache knows it (link_key)."""
    return link_key(job.url, as_file=job.prefs.as_file)


def link_key(url: str, *, as_file: bool) -> str:
    """A link as the file_id cache knows it: the same resource, the same key, and a key of
    their own for users who take videos as documents (Telegram resends a file_id only as the
    kind it was sent as)."""
    key = normalize_url(url)
    return key + AS_FILE_KEY if as_file else key


# What a user's default format may be (/settings): chosen before the page is seen.
PRESETS = frozenset({FormatChoice.BEST, FormatChoice.SMALL, FormatChoice.AUDIO})


def cache_choices(job: Job) -> list[str]:
    """The formats stage 1 looks for: the one chosen, or what a link answers by default (a
    user's default format may meet a plain file, which has none)."""
    if job.choice is FormatChoice.AUTO:
        return [FILE_CHOICE, "best"]
    return [FILE_CHOICE, str(job.choice)] if job.choice in PRESETS else [str(job.choice)]


# Settles the format of a media page; None: the pipeline answered the job otherwise.
Choose = Callable[[PageInfo], Awaitable[FormatChoice | None]]


@dataclass(frozen=True, slots=True)
class Fetched:
    files: tuple[FetchedFile, ...]
    choice: str  # the format, as the file_id cache knows it
    more: int = 0  # other videos on the page, not fetched


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
        *,
        file_cap: int | None = None,
        watch: Watch | None = None,
    ) -> Fetched | None: ...

    async def items(self, url: str, cancel: CancelToken, limit: int) -> list[PageInfo]: ...

    async def item(
        self, page: PageInfo, folder: Path, progress: TransferFn, cancel: CancelToken, cap: int
    ) -> Fetched: ...


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
        *,
        file_cap: int | None = None,
        watch: Watch | None = None,
    ) -> Fetched | None:
        """The files fetched into `folder`, at most `cap` bytes each (`file_cap` for a plain
        file that is not video or sound); None when `choose` said to stop. `watch` is told how a
        plain file of known size fills (not a page's media)."""
        point = await asyncio.to_thread(resume.load_note, folder, url)  # what a restart left
        async with self._http.open(url, point) as response:
            if not is_page(response):
                limit = cap if file_cap is None or looks_like_media(response) else file_cap
                saved = await self._http.save(
                    response, folder, progress, cancel, limit, resume=point, url=url, watch=watch
                )
                return Fetched((saved,), FILE_CHOICE)
        page = await self._ytdlp.extract(url, cancel)
        choice = await choose(page)
        if choice is None:
            return None
        fetched = await self._ytdlp.download(page, choice, folder, progress, cancel, cap)
        if choice is FormatChoice.AUDIO and page.picture is not None:
            cover = await self._cover(page.picture, folder / COVER_FOLDER, cancel)
            fetched = dataclasses.replace(fetched, cover=cover)
        return Fetched((fetched,), str(choice), page.more)

    async def items(self, url: str, cancel: CancelToken, limit: int) -> list[PageInfo]:
        """A playlist's first `limit` items (a page with several videos: its videos)."""
        return await self._ytdlp.items(url, cancel, limit)

    async def item(
        self, page: PageInfo, folder: Path, progress: TransferFn, cancel: CancelToken, cap: int
    ) -> Fetched:
        """One item of a playlist, its best video (or its sound, if it has no picture)."""
        fetched = await self._ytdlp.download(
            page, FormatChoice.BEST, folder, progress, cancel, cap
        )
        return Fetched((fetched,), str(FormatChoice.BEST))

    async def _cover(self, url: str, folder: Path, cancel: CancelToken) -> Path | None:
        """The page's picture, or None when it cannot be had: audio goes without a cover
        rather than fail. A stop still stops (StoppedError is not a FetchError)."""
        try:
            async with self._http.open(url) as response:
                if is_page(response):
                    log.info("cover_skipped reason=not_a_picture")
                    return None
                await asyncio.to_thread(folder.mkdir, exist_ok=True)
                saved = await self._http.save(response, folder, _ignore, cancel, COVER_MAX_BYTES)
        except FetchError as exc:
            log.info("cover_skipped reason=%s", exc.reason)
            return None
        return saved.path


def looks_like_media(response: httpx.Response) -> bool:
    """Whether a plain file says it is video or sound: its Content-Type, or its name."""
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype.startswith(("video/", "audio/")):
        return True
    return PurePosixPath(response.url.path).suffix.lower() in MEDIA_SUFFIXES


def _ignore(done: int, total: int | None) -> None:
    """The cover's progress: too small to show."""
