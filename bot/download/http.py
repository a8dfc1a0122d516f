"""Plain HTTP downloads: follow redirects safely, stream to disk, enforce the size limit,
continue what a restart cut short (resume.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

import httpx

from bot.download.cancel import CancelToken, StoppedError
from bot.download.decoding import BodyDecoder, UnsupportedEncodingError
from bot.download.files import filename_from_response, unique_path
from bot.download.reasons import network_reason
from bot.download.resume import MIN_BYTES, NOTE, ResumePoint, forget_note, validator_of, write_note
from bot.download.types import FetchedFile, Guard, TransferFn, Watch
from bot.model.failures import FailureReason, FetchError, is_disk_full

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
# The whole response head (status line and headers), however slowly it trickles in: httpx's
# read timeout is per read, so a server sending a byte every few seconds would never hit it.
HEAD_TIMEOUT_S = 30.0
OpenFile = Callable[[Path], BinaryIO]
PAGE_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "application/vnd.apple.mpegurl",
    "application/x-mpegurl",
    "audio/mpegurl",
    "application/dash+xml",
)


def fetch_error(exc: httpx.HTTPError) -> FetchError:
    """Map an httpx failure to a typed reason; its own words stay in the detail (the log)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(FailureReason.TIMEOUT, text)
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchError(FailureReason.REDIRECTS, text)
    if isinstance(exc, httpx.ConnectError):
        reason = network_reason(text)
        if reason not in (FailureReason.DNS, FailureReason.TLS):
            reason = FailureReason.CONNECTION  # nothing came: refused, reset, unreachable
        return FetchError(reason, text)
    return FetchError(FailureReason.CONNECTION_LOST, text)


def is_page(response: httpx.Response) -> bool:
    """Whether the URL serves a page (or a stream manifest) for yt-dlp rather than a file."""
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype in PAGE_TYPES


class HttpFetcher:
    """Streams a URL to a file, counting every byte (decoded or not) before it is held.

    `client` must connect only to vetted addresses (`pinned.download_client`): names are
    checked here for their form, and resolved once, by the connection itself. It asks for the
    body as it is (`identity`); a server that compresses it anyway is decoded a bounded piece
    at a time, and the size limit applies to the decoded bytes. `open_file` is a seam for tests
    (a file that is always full).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        guard: Guard,
        max_size: int,
        max_redirects: int = 10,
        head_timeout: float = HEAD_TIMEOUT_S,
        open_file: OpenFile = lambda path: path.open("wb"),
        resume_min: int = MIN_BYTES,
    ) -> None:
        self._client = client
        self._guard = guard
        self._max_size = max_size
        self._max_redirects = max_redirects
        self._head_timeout = head_timeout
        self._open_file = open_file
        self._resume_min = resume_min

    @property
    def max_size(self) -> int:
        return self._max_size

    @contextlib.asynccontextmanager
    async def open(
        self, url: str, resume: ResumePoint | None = None
    ) -> AsyncIterator[httpx.Response]:
        """GET `url`, checking every redirect hop; yields the final response unread. With
        `resume`, asks for the rest of that version of the file (206), or else all of it."""
        current = url
        headers = {"Accept-Encoding": "identity"}
        if resume is not None:
            headers.update(resume.request_headers())
        for _hop in range(self._max_redirects + 1):
            await self._guard.check(current, resolve=False)
            try:
                request = self._client.build_request("GET", current, headers=headers)
                async with asyncio.timeout(self._head_timeout):
                    response = await self._client.send(
                        request, stream=True, follow_redirects=False
                    )
            except TimeoutError:
                raise FetchError(
                    FailureReason.TIMEOUT, "the server is too slow to answer"
                ) from None
            except httpx.HTTPError as exc:
                raise fetch_error(exc) from exc
            try:
                self._guard.check_peer(response)
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    status = response.status_code
                    raise FetchError(
                        FailureReason.RATE_LIMITED if status == 429 else FailureReason.HTTP_STATUS,
                        f"HTTP {status}",
                        status=status,
                    )
                yield response
                return
            finally:
                await response.aclose()
        raise FetchError(FailureReason.REDIRECTS, f"more than {self._max_redirects} redirects")

    async def save(
        self,
        response: httpx.Response,
        folder: Path,
        progress: TransferFn,
        cancel: CancelToken,
        limit: int | None = None,
        resume: ResumePoint | None = None,
        url: str | None = None,
        watch: Watch | None = None,
    ) -> FetchedFile:
        """Stream the body into `folder`; the partial file is removed on any failure but a stop.

        `limit` lowers the size limit for this call (what Telegram can take, say). `resume`:
        the answer to `open(url, resume)`, which continues that file when it is the rest of it.
        `url` (the job's): a large file is noted so that a restart can continue it. `watch`:
        told of a file of known size as it fills (an upload reading it meanwhile).
        """
        cap = self._max_size if limit is None else min(limit, self._max_size)
        try:
            decoder = BodyDecoder.for_header(response.headers.get("content-encoding"))
        except UnsupportedEncodingError as exc:
            raise FetchError(FailureReason.BAD_ENCODING, str(exc)) from None
        if resume is not None and not resume.matches(
            response.status_code, response.headers.get("content-range")
        ):
            if response.status_code == 206:  # a range that is not the one asked for
                forget_note(folder)
                raise FetchError(
                    FailureReason.CONNECTION_LOST, "a partial answer that does not fit"
                )
            log.info("http_resume_refused status=%d", response.status_code)
            (folder / resume.name).unlink(missing_ok=True)  # the file changed: from byte 0
            resume = None
        offset = resume.have if resume is not None else 0
        total = _content_length(response) if decoder.identity else None
        if total is not None:
            total += offset
        if total is not None and total > cap:
            raise FetchError(FailureReason.TOO_LARGE, size=total, limit=cap)
        if resume is not None:
            path = folder / resume.name
            log.info("http_resumed from=%d total=%s", offset, total)
        else:
            path = unique_path(folder, self._name(response))
            self._note(response, folder, path, total, url)
        started = time.monotonic()
        if total is None:
            watch = None  # only a file whose size is known can be read as it grows
        try:
            with self._open_at(path, offset) as out:
                if watch is not None and total is not None:
                    watch.begin(path, total)
                done = await self._copy(
                    response, decoder, out, progress, total, cancel, cap, offset, watch
                )
        except httpx.HTTPError as exc:
            _discard(folder, path)
            raise fetch_error(exc) from exc
        except (StoppedError, asyncio.CancelledError):
            if not (folder / NOTE).exists():
                _discard(folder, path)
            raise  # a noted part stays for the next run; the job's end decides about the folder
        except zlib.error:
            _discard(folder, path)
            raise FetchError(
                FailureReason.BAD_ENCODING, "the server sent a corrupt compressed file"
            ) from None
        except OSError as exc:
            _discard(folder, path)
            if is_disk_full(exc):
                raise FetchError(FailureReason.DISK_FULL, str(exc)) from exc
            raise
        except BaseException:
            _discard(folder, path)
            raise
        if done == 0:
            _discard(folder, path)
            raise FetchError(FailureReason.EMPTY)
        if total is not None and done < total:
            _discard(folder, path)
            raise FetchError(
                FailureReason.CONNECTION_LOST, f"the body ended after {done} of {total} bytes"
            )
        if url is not None:  # whole now: nothing to continue
            forget_note(folder)
        log.info("http_saved bytes=%d seconds=%.2f", done, time.monotonic() - started)
        return FetchedFile(path=path, size=done, title=None)

    def _name(self, response: httpx.Response) -> str:
        return filename_from_response(
            str(response.url),
            response.headers.get("content-disposition"),
            response.headers.get("content-type"),
        )

    def _note(
        self,
        response: httpx.Response,
        folder: Path,
        path: Path,
        total: int | None,
        url: str | None,
    ) -> None:
        """Leave a note for a restart when the file is large and its version identified."""
        validator = validator_of(response.headers)
        if url is None or total is None or total < self._resume_min or validator is None:
            return
        # Blocking write of a few hundred bytes, once a download: page-cache speed.
        write_note(folder, ResumePoint(url, path.name, validator, total))

    def _open_at(self, path: Path, offset: int) -> BinaryIO:
        if offset == 0:
            return self._open_file(path)
        out = path.open("r+b")
        out.truncate(offset)
        out.seek(offset)
        return out

    async def _copy(
        self,
        response: httpx.Response,
        decoder: BodyDecoder,
        out: BinaryIO,
        progress: TransferFn,
        total: int | None,
        cancel: CancelToken,
        cap: int,
        offset: int = 0,
        watch: Watch | None = None,
    ) -> int:
        received = done = offset

        def keep(piece: bytes) -> None:
            nonlocal done
            done += len(piece)
            if done > cap:  # the real size is unknown: only "more than the limit" is true
                raise FetchError(FailureReason.TOO_LARGE, limit=cap)
            # Blocking write of one piece: page-cache speed, bounded by the decoder's piece.
            out.write(piece)
            progress(done, total)
            if watch is not None:
                out.flush()  # what `grew` counts is on disk for whoever reads it
                watch.grew(done)

        # Raw bytes, counted before anything is decoded: httpx's own decoding is unbounded.
        async for chunk in response.aiter_raw(CHUNK):
            cancel.check()
            received += len(chunk)
            if received > cap:  # even what decodes to nothing is not read for ever
                raise FetchError(FailureReason.TOO_LARGE, limit=cap)
            for n, piece in enumerate(decoder.feed(chunk)):
                if n:
                    await asyncio.sleep(0)  # one chunk may decode to many pieces: let others run
                keep(piece)
        for piece in decoder.finish():
            keep(piece)
        return done


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or response.headers.get("content-encoding"):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _discard(folder: Path, path: Path) -> None:
    """A failed download leaves nothing: neither its part nor a note to continue it."""
    path.unlink(missing_ok=True)
    forget_note(folder)
