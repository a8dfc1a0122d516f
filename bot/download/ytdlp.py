"""Media pages through yt-dlp's Python API, in the bounded pool, cancellable from the loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.download import titles
from bot.download.cancel import CancelToken, StoppedError, StopReason
from bot.download.cookies import CookieStore
from bot.download.reasons import classify_exception
from bot.download.types import FetchedFile, TransferFn
from bot.download.ytdlp_guard import find_fetch_error
from bot.model.failures import FailureReason, FetchError
from bot.model.job import FormatChoice

log = logging.getLogger(__name__)

# Builds the YoutubeDL for one call of one job: its network must answer the job's stop signal.
YdlFactory = Callable[[dict[str, Any], CancelToken], Any]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# What a stopped worker thread is allowed (ytdlp_net makes every blocking call stoppable);
# past it the stop is logged as slow, and the bench reports it.
STOP_GOAL_S = 2.0


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What yt-dlp found on a page, enough to offer choices and download without re-extracting."""

    url: str
    title: str | None
    duration: float | None
    estimated_size: int | None
    has_video: bool
    info: dict[str, Any] = field(repr=False, compare=False)
    performer: str | None = None  # the artist, else the uploader
    track: str | None = None  # a song's own name, where the page gives one
    picture: str | None = None  # the page's picture (og:image, the video's thumbnail)
    more: int = 0  # other videos on the page, not fetched (unless the user asks for all)


class _Logger:
    """Routes yt-dlp's messages into our log instead of its stdout/stderr."""

    def debug(self, msg: str) -> None:
        log.debug("ytdlp %s", msg)

    def info(self, msg: str) -> None:
        log.debug("ytdlp %s", msg)

    def warning(self, msg: str) -> None:
        log.info("ytdlp_warning %s", _ANSI.sub("", msg))

    def error(self, msg: str) -> None:
        log.info("ytdlp_error %s", _ANSI.sub("", msg))


def format_selector(choice: FormatChoice, limit: int) -> str:
    """A yt-dlp format string for the choice that prefers what Telegram plays inline."""
    s = f"[filesize<?{limit}][filesize_approx<?{limit}]"
    if choice is FormatChoice.AUDIO:
        # Sound alone where the page offers it; else the smallest variant with sound in it
        # (of an HLS master's 360p and 720p, the 360p: the same sound at a fraction of the bytes).
        return f"ba[ext=m4a]{s}/ba{s}/wa*{s}"
    h = "[height<=480]" if choice is FormatChoice.SMALL else ""
    alternatives = [
        f"bv*{h}[ext=mp4][vcodec^=avc]{s}+ba[ext=m4a]{s}",
        f"b{h}[ext=mp4]{s}",
        f"bv*{h}{s}+ba{s}",
        f"b{h}{s}",
    ]
    if choice is FormatChoice.SMALL:
        alternatives += [f"wv*{s}+wa{s}", f"w{s}"]
    return "/".join(alternatives)


class YtdlpFetcher:
    """Runs yt-dlp in `executor`; every call can be stopped through its CancelToken."""

    def __init__(
        self,
        executor: concurrent.futures.Executor,
        *,
        max_size: int,
        proxy: str | None = None,
        cookies: CookieStore | None = None,
        socket_timeout: float = 20,
        extract_timeout: float = 90,
        js_runtimes: dict[str, dict[str, Any]] | None = None,
        pot_provider: str | None = None,
        factory: YdlFactory,
    ) -> None:
        self._executor = executor
        self._max_size = max_size
        self._proxy = proxy
        self._cookies = cookies
        self._socket_timeout = socket_timeout
        self._extract_timeout = extract_timeout
        self._factory = factory
        self._js_runtimes = js_runtimes or {}
        self._pot_provider = pot_provider

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "logger": _Logger(),
            "noplaylist": True,
            "playlist_items": "1",  # a page with two <video> tags is a playlist even so
            "socket_timeout": self._socket_timeout,
            "retries": 3,
            "fragment_retries": 3,
            "extractor_retries": 1,
            "cachedir": False,
            "color": {"stdout": "never", "stderr": "never"},
            "proxy": self._proxy or "",
            # Named explicitly (jsruntime.py): {} leaves yt-dlp without one, never a search.
            "js_runtimes": dict(self._js_runtimes),
        }
        if self._pot_provider is not None:  # bgutil's plugin (requirements-pot.txt)
            params["extractor_args"] = {
                "youtubepot-bgutilhttp": {"base_url": [self._pot_provider]}
            }
        return params

    async def _with_cookies(
        self, url: str, params: dict[str, Any], cancel: CancelToken, work: Callable[[], Any]
    ) -> Any:
        """Run `work` with the cookies for `url`'s site in `params`; a file the site refused
        gives way to the next of that site (cookies.py)."""
        path = None
        if self._cookies is not None:
            path, stream = await asyncio.to_thread(self._cookies.pick, url)
            if stream is not None:
                params["cookiefile"] = stream
        try:
            return await self._run(work, cancel)
        except FetchError as exc:
            if path is not None and self._cookies is not None:
                self._cookies.refused(path, exc.reason)
            raise

    async def extract(self, url: str, cancel: CancelToken) -> PageInfo:
        info = await self._extract(url, cancel, self._params())
        more = 0
        if info.get("_type") == "playlist":
            entries = [e for e in info.get("entries") or [] if e]
            if not entries:
                raise FetchError(FailureReason.NO_MEDIA, "empty playlist")
            # Only the first is fetched ("playlist_items"); the page's count says how many more.
            count = info.get("playlist_count")
            more = count - 1 if isinstance(count, int) and count > 1 else 0
            info = {"playlist_title": info.get("title"), **entries[0]}
        return _page(url, info, more)

    async def items(self, url: str, cancel: CancelToken, limit: int) -> list[PageInfo]:
        """A playlist's first `limit` items, each enough to download on its own (an item a
        site lists only by its address is looked up when its turn comes)."""
        params = self._params()
        params.update({"playlist_items": f"1-{limit}", "extract_flat": "in_playlist"})
        info = await self._extract(url, cancel, params)
        if info.get("_type") != "playlist":
            return [_page(url, info, 0)]
        entries = [e for e in info.get("entries") or [] if e][:limit]
        if not entries:
            raise FetchError(FailureReason.NO_MEDIA, "empty playlist")
        title = info.get("title")
        return [_page(url, {"playlist_title": title, **entry}, 0) for entry in entries]

    async def _extract(
        self, url: str, cancel: CancelToken, params: dict[str, Any]
    ) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            with self._factory(params, cancel) as ydl:
                info: dict[str, Any] = ydl.extract_info(url, download=False)
                return ydl.sanitize_info(info)  # type: ignore[no-any-return]

        try:
            async with asyncio.timeout(self._extract_timeout):
                info: dict[str, Any] = await self._with_cookies(url, params, cancel, work)
        except TimeoutError:
            raise FetchError(FailureReason.TIMEOUT, "extracting the page took too long") from None
        return info

    async def download(
        self,
        page: PageInfo,
        choice: FormatChoice,
        folder: Path,
        progress: TransferFn,
        cancel: CancelToken,
        limit: int | None = None,
    ) -> FetchedFile:
        # No refusal on the page's best size here: the selector below picks a format that fits,
        # and fails with "requested format is not available" (TOO_LARGE) when none does.
        limit = self._max_size if limit is None else min(limit, self._max_size)
        params = self._params()
        params.update(
            {
                "format": format_selector(choice, limit),
                "max_filesize": limit,
                "paths": {"home": str(folder), "temp": str(folder)},
                # A plain name on disk: the title shown and the name sent are ours (titles.py).
                "outtmpl": {"default": "media.%(ext)s"},
                "windowsfilenames": True,
                # A restart keeps the job's folder: yt-dlp continues its .part with a Range.
                "continuedl": True,
                "overwrites": True,
                "merge_output_format": "mp4",
                "progress_hooks": [self._hook(progress, cancel, limit)],
            }
        )
        # Re-select formats for this choice from the info we already have (no re-extraction).
        info = dict(page.info)
        info.pop("requested_formats", None)
        info.pop("format_id", None)

        def work() -> dict[str, Any]:
            with self._factory(params, cancel) as ydl:
                result: dict[str, Any] = ydl.process_ie_result(info, download=True)
                return result

        try:
            result: dict[str, Any] = await self._with_cookies(page.url, params, cancel, work)
        except FetchError as exc:
            if exc.reason is FailureReason.FORMAT_UNAVAILABLE and _none_fits(info, limit):
                # The selector asks for sizes within the limit, and every format is larger.
                raise FetchError(
                    FailureReason.TOO_LARGE, exc.detail, size=page.estimated_size or 0, limit=limit
                ) from None
            raise
        path = _downloaded_path(result, folder)
        if path is None:
            # max_filesize makes yt-dlp skip the file with only a log line.
            raise FetchError(FailureReason.TOO_LARGE, size=page.estimated_size or 0, limit=limit)
        size = path.stat().st_size
        if size == 0:
            raise FetchError(FailureReason.EMPTY)
        return FetchedFile(
            path=path, size=size, title=page.title, performer=page.performer, track=page.track
        )

    def _hook(
        self, progress: TransferFn, cancel: CancelToken, limit: int
    ) -> Callable[[dict[str, Any]], None]:
        def hook(d: dict[str, Any]) -> None:
            import yt_dlp.utils

            if cancel.cancelled:
                raise yt_dlp.utils.DownloadCancelled(cancel.reason or "cancelled")
            done = int(d.get("downloaded_bytes") or 0)
            if done > limit:
                cancel.cancel(StopReason.TOO_LARGE)
                raise yt_dlp.utils.DownloadCancelled("too large")
            total = d.get("total_bytes") or d.get("total_bytes_estimate")
            progress(done, int(total) if total else None)

        return hook

    async def _run(
        self, work: Callable[[], dict[str, Any]], cancel: CancelToken
    ) -> dict[str, Any]:
        """Run `work` in the pool; on cancellation, stop the thread and wait until it has ended.

        The wait has no bound on purpose: the stop reaches every connect, read and DNS lookup
        the thread makes (ytdlp_net), so it ends within moments. Giving up instead would leave
        a pool worker busy behind the job's back, which is how a bot runs out of workers.
        """
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, _guarded(work, cancel))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.cancel(StopReason.CANCELLED)
            await _until_done(future)
            stopped = cancel.stopped_at
            seconds = time.monotonic() - stopped if stopped is not None else 0.0
            if seconds > STOP_GOAL_S:
                log.warning("ytdlp_slow_stop seconds=%.2f", seconds)
            else:
                log.info("ytdlp_stopped seconds=%.2f", seconds)
            raise


def _page(url: str, info: dict[str, Any], more: int) -> PageInfo:
    size = info.get("filesize") or info.get("filesize_approx")
    for fmt in info.get("requested_formats") or ():
        size = (size or 0) + (fmt.get("filesize") or fmt.get("filesize_approx") or 0)
    has_video = (info.get("vcodec") or "") != "none" or bool(info.get("width"))
    return PageInfo(
        url=url,
        title=titles.page_title(info, url),
        duration=info.get("duration"),
        estimated_size=int(size) if size else None,
        has_video=has_video,
        info=info,
        performer=titles.performer(info),
        track=titles.track_title(info),
        picture=titles.picture(info),
        more=more,
    )


async def _until_done(future: asyncio.Future[Any]) -> None:
    """Wait for `future` even if this task is cancelled again meanwhile (a stop on a stop)."""
    while not future.done():
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError:
            continue
    if not future.cancelled():
        future.exception()  # retrieved: how the stopped thread ended is no news


def _guarded(
    work: Callable[[], dict[str, Any]], cancel: CancelToken
) -> Callable[[], dict[str, Any]]:
    """Translate yt-dlp's exceptions, raised in the worker thread, into ours."""

    def run() -> dict[str, Any]:
        import yt_dlp.utils

        cancel.check()
        failure: FetchError | None = None
        try:
            return work()
        except yt_dlp.utils.DownloadCancelled:
            pass
        except FetchError as exc:  # ours, raised inside yt-dlp (a body past MAX_PAGE_MB)
            if not cancel.cancelled:
                failure = exc
        except yt_dlp.utils.YoutubeDLError as exc:
            if not cancel.cancelled:
                failure = find_fetch_error(exc) or _classify(exc)
        # Raised anew outside the except blocks, with no traceback or context, so nothing keeps
        # yt-dlp's frames alive: the open HTTP response in them is closed now, not whenever the
        # garbage collector runs.
        if failure is not None:
            failure = FetchError(failure.reason, failure.detail, **failure.params)
        gc.collect()
        if failure is not None:
            raise failure
        raise StoppedError(cancel.reason or StopReason.CANCELLED)

    return run


def _classify(exc: BaseException) -> FetchError:
    return classify_exception(exc)


def _none_fits(info: dict[str, Any], limit: int) -> bool:
    """Whether the page has formats and each one is known to be larger than `limit`."""
    formats = info.get("formats") or ()
    sizes = [f.get("filesize") or f.get("filesize_approx") for f in formats]
    return bool(sizes) and all(isinstance(s, int | float) and s > limit for s in sizes)


def _downloaded_path(result: dict[str, Any], folder: Path) -> Path | None:
    for item in result.get("requested_downloads") or ():
        candidate = item.get("filepath")
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.endswith((".part", ".ytdl", ".jpg", ".webp"))
    ]
    return max(files, key=lambda p: p.stat().st_size) if files else None
