"""A media server for tests: generated files, real static files, pages with <video>, faults.

Routes (all on 127.0.0.1, random port):
- `GET|HEAD /file/{name}?size=N&type=MIME&rate=BPS&nolength=1&status=CODE&chunk=BYTES
  &disposition=HEADER&validators=0&hold=BYTES&cut=1`: N deterministic bytes derived from
  `name` (see `expected_sha256`), streamed in chunks, optionally throttled, without
  Content-Length, with a Content-Disposition header, or answering an error status. With
  `hold`, the body pauses once BYTES are sent until `release(name)`; with `cut=1` as well, it
  then breaks off (the connection closed mid-body). Ranges work, and `If-Range`
  against the `ETag` and `Last-Modified` it sends (none with `validators=0`);
  `change(name)` gives the same URL new content and new validators.
- `GET|HEAD /static/{path}?rate=BPS`: a file from `static_dir` (subfolders too), with its mime
  type and ranges (`.m3u8` as an HLS playlist, `.ts` as MPEG-TS).
- `GET /page/{name}?video=URL&video2=URL&og=URL&image=URL&title=TEXT`: HTML with a <title>,
  <video> tags (none for `/page/empty` or without `video`), and `og:video`, `og:title` and
  `og:image` meta tags for `og` and `image`.
- `GET /redirect?to=URL&status=302`, and `GET /hang`, which never answers.
"""

from __future__ import annotations

import asyncio
import html
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import BinaryIO, Self

from aiohttp import web

from tests.fakes.content import Content, sha256_of
from tests.fakes.waiters import Waiters

__all__ = ["MediaServer"]

DEFAULT_SIZE = 1024 * 1024
DEFAULT_CHUNK = 64 * 1024
Reader = Callable[[int, int], Awaitable[bytes]]
# Types `mimetypes` does not know everywhere: HLS playlists and segments.
_STATIC_TYPES = MappingProxyType({".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"})


def _parse_range(header: str, total: int) -> tuple[int, int] | None:
    """(start, end-exclusive) of a single `bytes=` range, or None if it cannot be satisfied."""
    spec = header.strip().removeprefix("bytes=")
    if "," in spec or "-" not in spec:
        return None
    first, last = (part.strip() for part in spec.split("-", 1))
    try:
        if not first:
            start, end = max(total - int(last), 0), total
        else:
            start = int(first)
            end = min(int(last) + 1, total) if last else total
    except ValueError:
        return None
    if start >= total or start >= end:
        return None
    return start, end


@dataclass(frozen=True, slots=True)
class _Pause:
    """Where a body pauses (`hold`), what it waits for, and whether it then breaks off."""

    at: int
    wait: Callable[[], Awaitable[None]]
    cut: bool = False


def _read_at(handle: BinaryIO, offset: int, size: int) -> bytes:
    handle.seek(offset)
    return handle.read(size)


class MediaServer:
    """An aiohttp server on 127.0.0.1 that serves what download tests need."""

    def __init__(self, static_dir: Path | None = None) -> None:
        self.static_dir = static_dir
        self.requests: list[tuple[str, str]] = []
        self.cookies: list[tuple[str, str]] = []  # (path, Cookie header) of every request
        # (path and query, body bytes written) of every response streamed, cut short or not
        self.served: list[tuple[str, int]] = []
        self.active_streams = 0
        # (path and query, Range header, status answered) of every request that asked for a range
        self.ranges: list[tuple[str, str, int]] = []
        # How often each /file/ name's content changed (`change`); 0: the original bytes.
        self.versions: dict[str, int] = {}
        # /file/ names whose body paused at `hold` (`holding`), and those let go (`release`).
        self.holding: set[str] = set()
        self._released: set[str] = set()
        # /file/ names answered with this status, whatever the query says, until `refuse(name,
        # None)`: a site that refuses for a while (a 429, a 503).
        self.refusing: dict[str, int] = {}
        self._waiters = Waiters()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a random loopback port."""
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/file/{name}", self._file)
        app.router.add_get("/static/{filename:.+}", self._static)
        app.router.add_get("/page/{name}", self._page)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/hang", self._hang)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._closing = False

    async def stop(self) -> None:
        """Release hanging requests and close the server."""
        self._closing = True
        self._waiters.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def url(self, path: str = "/") -> str:
        """The absolute URL of `path` on this server (e.g. "/file/a.mp4?size=1000")."""
        if self._port is None:
            raise RuntimeError("MediaServer is not started")
        return f"http://127.0.0.1:{self._port}/{path.lstrip('/')}"

    # --- helpers for assertions ------------------------------------------------------------

    @staticmethod
    def expected_sha256(name: str, size: int) -> str:
        """The sha256 of `/file/{name}?size={size}`."""
        return sha256_of(name, size)

    @staticmethod
    def expected_bytes(name: str, size: int) -> bytes:
        """The body of `/file/{name}?size={size}` (builds it in memory: small sizes only)."""
        return Content(name).read(0, size)

    def change(self, name: str) -> None:
        """Give `/file/{name}` new content (and a new ETag and Last-Modified) from now on."""
        self.versions[name] = self.versions.get(name, 0) + 1

    @staticmethod
    def content_name(name: str, version: int = 0) -> str:
        """The name `expected_sha256` takes for `name` after `version` changes."""
        return name if version == 0 else f"{name}~{version}"

    def release(self, name: str) -> None:
        """Let `/file/{name}` bodies held at `hold` go on (or break off, with `cut=1`)."""
        self._released.add(name)
        self._waiters.notify()

    async def wait_holding(self, name: str, timeout: float = 10) -> None:
        """Return once a `/file/{name}` body is paused at its `hold`."""
        if await self._waiters.wait(lambda: True if name in self.holding else None, timeout):
            return
        raise TimeoutError(f"/file/{name} never reached its hold within {timeout}s")

    def bytes_served(self, path_contains: str = "") -> int:
        """Body bytes sent so far in responses whose path and query contain the text."""
        return sum(size for path, size in self.served if path_contains in path)

    async def wait_streams(
        self,
        count: int = 0,
        timeout: float = 10,
    ) -> None:
        """Return once exactly `count` responses are streaming (0: every download closed)."""
        done = await self._waiters.wait(
            lambda: True if self.active_streams == count else None, timeout
        )
        if done is None:
            raise TimeoutError(
                f"{self.active_streams} streams still open after {timeout}s, wanted {count}; "
                f"recent requests: {self.requests[-10:]}"
            )

    async def wait_for_request(
        self,
        path_contains: str,
        timeout: float = 10,
    ) -> tuple[str, str]:
        """The first request, made or yet to come, whose path and query contain the text."""

        def check() -> tuple[str, str] | None:
            return next((r for r in self.requests if path_contains in r[1]), None)

        found = await self._waiters.wait(check, timeout)
        if found is None:
            raise TimeoutError(
                f"no request for {path_contains!r} within {timeout}s; got {self.requests[-10:]}"
            )
        return found

    def _set_streams(self, delta: int) -> None:
        self.active_streams += delta
        self._waiters.notify()

    # --- routes ----------------------------------------------------------------------------

    @web.middleware
    async def _record(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        self.cookies.append((request.path, request.headers.get("Cookie", "")))
        self._waiters.notify()
        return await handler(request)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            size = int(query.get("size", DEFAULT_SIZE))
            status = int(query.get("status", 200))
            rate = float(query["rate"]) if "rate" in query else None
            chunk = int(query["chunk"]) if "chunk" in query else None
            hold = int(query["hold"]) if "hold" in query else None
        except ValueError:
            return web.Response(status=400, text="bad query")
        name = request.match_info["name"]
        status = self.refusing.get(name, status)
        if status != 200:
            return web.Response(status=status, text=f"error {status}")
        version = self.versions.get(name, 0)
        content = Content(self.content_name(name, version))
        validators = None
        if query.get("validators") != "0":
            modified = f"Wed, {1 + version % 28:02d} Jan 2025 00:00:00 GMT"
            validators = (f'"{self.content_name(name, version)}-{size}"', modified)

        async def reader(offset: int, length: int) -> bytes:
            return content.read(offset, length)

        pause = None
        if hold is not None:
            pause = _Pause(hold, lambda: self._hold(name), cut=query.get("cut") == "1")
        return await self._stream(
            request,
            size,
            reader,
            content_type=query.get("type", "application/octet-stream"),
            rate=rate,
            chunk=chunk,
            nolength=query.get("nolength") == "1",
            disposition=query.get("disposition"),
            validators=validators,
            pause=pause,
        )

    def refuse(self, name: str, status: int | None) -> None:
        """Answer /file/`name` with `status` from now on; None: serve it again."""
        if status is None:
            self.refusing.pop(name, None)
        else:
            self.refusing[name] = status

    async def _hold(self, name: str) -> None:
        self.holding.add(name)
        self._waiters.notify()
        await self._waiters.wait(
            lambda: True if name in self._released or self._closing else None, None
        )

    async def _static(self, request: web.Request) -> web.StreamResponse:
        if self.static_dir is None:
            raise web.HTTPNotFound
        root = self.static_dir.resolve()
        path = (root / request.match_info["filename"]).resolve()
        if not path.is_relative_to(root) or not await asyncio.to_thread(path.is_file):
            raise web.HTTPNotFound
        size = (await asyncio.to_thread(path.stat)).st_size
        content_type = _STATIC_TYPES.get(path.suffix.lower()) or (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        rate = float(request.query["rate"]) if "rate" in request.query else None
        handle = await asyncio.to_thread(path.open, "rb")
        try:

            async def reader(offset: int, length: int) -> bytes:
                return await asyncio.to_thread(_read_at, handle, offset, length)

            return await self._stream(request, size, reader, content_type=content_type, rate=rate)
        finally:
            await asyncio.to_thread(handle.close)

    async def _stream(
        self,
        request: web.Request,
        total: int,
        reader: Reader,
        *,
        content_type: str,
        rate: float | None = None,
        chunk: int | None = None,
        nolength: bool = False,
        disposition: str | None = None,
        validators: tuple[str, str] | None = None,
        pause: _Pause | None = None,
    ) -> web.StreamResponse:
        start, end, status = 0, total, 200
        headers = {"Content-Type": content_type, "Accept-Ranges": "bytes"}
        if disposition:
            headers["Content-Disposition"] = disposition
        if validators is not None:
            headers["ETag"], headers["Last-Modified"] = validators
        # RFC 9110 13.1.5: a Range with an If-Range that does not match gets the whole file.
        if_range = request.headers.get("If-Range")
        ranged = if_range is None or (validators is not None and if_range in validators)
        if "Range" in request.headers and not nolength and ranged:
            wanted = _parse_range(request.headers["Range"], total)
            if wanted is None:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{total}"})
            start, end, status = *wanted, 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
        if "Range" in request.headers:
            self.ranges.append((request.path_qs, request.headers["Range"], status))
        response = web.StreamResponse(status=status, headers=headers)
        if nolength:
            response.enable_chunked_encoding()
        else:
            response.content_length = end - start
        if request.method == "HEAD":
            await response.prepare(request)
            return response
        if chunk is None:
            chunk = DEFAULT_CHUNK if rate is None else max(1, min(DEFAULT_CHUNK, int(rate / 20)))
        self._set_streams(+1)
        sent = [0]
        try:
            await response.prepare(request)
            await self._send(response, reader, start, end, chunk, rate, sent, pause)
            if pause is not None and pause.cut:
                if request.transport is not None:
                    request.transport.close()  # the body breaks off where it was held
                return response
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away mid-download; that is what some tests do on purpose
        finally:
            self.served.append((request.path_qs, sent[0]))
            self._set_streams(-1)
        return response

    @staticmethod
    async def _send(
        response: web.StreamResponse,
        reader: Reader,
        start: int,
        end: int,
        chunk: int,
        rate: float | None,
        sent: list[int],
        pause: _Pause | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        position = start
        while position < end:
            if pause is not None and position >= pause.at:
                await pause.wait()
                if pause.cut:
                    return
                pause = None
            data = await reader(position, min(chunk, end - position))
            await response.write(data)
            position += len(data)
            sent[0] += len(data)
            if rate:
                # Real throttling: hold each chunk until the average rate is back under `rate`.
                lag = began + (position - start) / rate - loop.time()
                if lag > 0:
                    await asyncio.sleep(lag)

    async def _page(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        title = html.escape(request.query.get("title", name))
        # `video` may be given many times: one <video> each (a page yt-dlp sees as a playlist).
        videos: list[str | None] = []
        if name != "empty":
            videos = [*request.query.getall("video", []), request.query.get("video2")]
        tags = "".join(
            f'<video controls src="{html.escape(url)}"></video>\n' for url in videos if url
        )
        meta = ""
        if og := request.query.get("og"):
            meta += f'<meta property="og:title" content="{title}">\n'
            meta += f'<meta property="og:video" content="{html.escape(og)}">\n'
        if image := request.query.get("image"):
            meta += f'<meta property="og:image" content="{html.escape(image)}">\n'
        body = (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>\n'
            f"{meta}</head>\n<body><h1>{title}</h1>\n{tags}"
            "<p>Nothing else here.</p></body></html>\n"
        )
        return web.Response(text=body, content_type="text/html")

    async def _redirect(self, request: web.Request) -> web.Response:
        target = request.query.get("to", "/")
        status = int(request.query.get("status", 302))
        return web.Response(status=status, headers={"Location": target})

    async def _hang(self, _: web.Request) -> web.Response:
        await self._waiters.wait(lambda: True if self._closing else None, None)
        return web.Response(status=503, text="server stopping")
