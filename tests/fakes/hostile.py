"""A misbehaving media server: bombs, endless pages and slow headers, over raw TCP.

Every connection is recorded with when it opened and when the client closed it, so a test can
assert that the bot let go of an attacker. Routes (127.0.0.1, random port), each answering GET:

- `/gzip.bin?size=N&layers=K`: a file served `Content-Encoding: gzip, gzip` (K layers, default
  2), N zero bytes inside (default 4 GiB), in a few kilobytes on the wire.
- `/bomb.html?size=N`: a `text/html` page that is a gzip bomb (N spaces inside).
- `/endless.html?rate=BPS`: a `text/html` page that never ends (at BPS bytes a second, or as
  fast as the client reads).
- `/slowloris?every=S&after=K`: the first K requests to it get a small page's headers; later
  ones get a status line and then one header byte every S seconds, for ever.
- `/odd.bin?encoding=NAME`: a few bytes claimed to be encoded as NAME (say `br`).
- `/media/NAME`: a file given to `serve()` (any query is ignored, so `?n=7` makes another URL).
- `/videos.html?count=N&src=NAME`: a page of N `<video>` tags, each a different URL of
  `/media/NAME`.
- `/cover.html?video=NAME&image=NAME`: a page with one `<video>` and `og:image` (its cover).
- `/hls.m3u8?segments=N`: an HLS media playlist of N one-second segments `s/N.ts` (short
  lines: 150,000 of them fit under 5 MB), every one the file served as `/media/seg.ts`.
After answering, the server holds the connection until the client closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from tests.fakes.bombs import gzip_fill, gzip_layers, png_bomb
from tests.fakes.waiters import Waiters

__all__ = ["Connection", "HostileServer"]

GiB = 1024**3
Route = Callable[[dict[str, str], asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Connection:
    """One client connection: what it asked for, and when it opened and closed (monotonic)."""

    path: str = ""
    head: bytes = b""  # the request line and headers
    opened_at: float = field(default_factory=time.monotonic)
    closed_at: float | None = None


class HostileServer:
    """The attacks of issue 11, each one route; see the module docstring."""

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self._requests: Counter[str] = Counter()
        self._waiters = Waiters()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._port: int | None = None
        self._files: dict[str, tuple[bytes, str]] = {}
        self._routes: dict[str, Route] = {
            "/gzip.bin": self._gzip,
            "/bomb.html": self._bomb_page,
            "/endless.html": self._endless,
            "/slowloris": self._slowloris,
            "/odd.bin": self._odd,
            "/videos.html": self._videos,
            "/cover.html": self._cover,
            "/hls.m3u8": self._hls,
        }

    def serve(self, name: str, body: bytes, content_type: str) -> None:
        """Serve `body` at `/media/NAME` (and under any query string)."""
        self._files[name] = (body, content_type)

    def serve_png_bomb(self, name: str, width: int, height: int) -> None:
        """Serve a `width` x `height` black PNG (a few hundred kilobytes) at `/media/NAME`."""
        self.serve(name, png_bomb(width, height), "image/png")

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):  # each handler then sees its client go and ends
            writer.transport.abort()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

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

    def url(self, path: str) -> str:
        if self._port is None:
            raise RuntimeError("HostileServer is not started")
        return f"http://127.0.0.1:{self._port}/{path.lstrip('/')}"

    @property
    def open_connections(self) -> list[Connection]:
        return [c for c in self.connections if c.closed_at is None]

    def requests_to(self, path: str) -> int:
        return self._requests[path]

    async def wait_requests(self, path: str, count: int, timeout: float = 10) -> None:
        """Return once `count` requests to `path` have arrived."""
        seen = await self._waiters.wait(
            lambda: True if self._requests[path] >= count else None, timeout
        )
        if seen is None:
            raise TimeoutError(f"{self._requests[path]} requests to {path}, wanted {count}")

    async def wait_all_closed(self, timeout: float) -> None:
        """Return once the client has closed every connection it opened."""
        done = await self._waiters.wait(
            lambda: True if not self.open_connections else None, timeout
        )
        if done is None:
            raise TimeoutError(f"still open after {timeout}s: {self.open_connections}")

    # --- connections -----------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        conn = Connection()
        self.connections.append(conn)
        self._waiters.notify()
        try:
            await self._serve(conn, reader, writer)
        finally:
            conn.closed_at = conn.closed_at or time.monotonic()
            writer.close()
            self._writers.discard(writer)
            self._tasks.discard(task)
            self._waiters.notify()

    async def _serve(
        self, conn: Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        conn.head = head
        target = head.split(b" ", 2)[1].decode("latin-1")
        parts = urlsplit(target)
        conn.path = parts.path
        self._requests[parts.path] += 1
        self._waiters.notify()
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        route = self._routes.get(parts.path)
        if parts.path.startswith("/media/"):
            route = functools.partial(self._media, parts.path.removeprefix("/media/"))
        elif parts.path.startswith("/s/"):
            route = functools.partial(self._media, "seg.ts")
        answer = route(query, writer) if route else self._not_found(writer)
        # The client closing (EOF) ends the connection whatever the route is still doing.
        sending = asyncio.ensure_future(self._answer(answer))
        closed = asyncio.ensure_future(self._until_eof(reader))
        try:
            await asyncio.wait([closed, sending], return_when=asyncio.FIRST_COMPLETED)
            if not closed.done():
                await closed  # answered: hold the connection until the client lets go
        finally:
            for task in (sending, closed):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @staticmethod
    async def _answer(answer: Awaitable[None]) -> None:
        with contextlib.suppress(ConnectionError):
            await answer

    @staticmethod
    async def _until_eof(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass

    # --- routes ----------------------------------------------------------------------------

    async def _not_found(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async def _gzip(self, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        layers = int(query.get("layers", "2"))
        body = gzip_layers(int(query.get("size", 4 * GiB)), layers)
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Encoding: {', '.join(['gzip'] * layers)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()

    async def _bomb_page(self, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        size = int(query.get("size", GiB))
        body = gzip_fill(size, b" ", b"<!DOCTYPE html><html><head><title>bomb</title></head>")
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()

    async def _endless(self, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        rate = float(query["rate"]) if "rate" in query else None
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Connection: close\r\n\r\n<!DOCTYPE html><html><body>"
        )
        chunk = b"<p>" + b"endless " * 1000 + b"</p>\n"
        if rate is not None:
            chunk = chunk[: max(1, int(rate / 20))]
        began = time.monotonic()
        sent = 0
        while True:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            if rate is not None:
                lag = began + sent / rate - time.monotonic()
                if lag > 0:
                    await asyncio.sleep(lag)

    async def _odd(self, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        encoding = query.get("encoding", "br")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Encoding: %s\r\nContent-Length: 8\r\n\r\n\x8b\x03\x80abcd\x03"
            % encoding.encode()
        )
        await writer.drain()

    async def _slowloris(self, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        every = float(query.get("every", "1"))
        if self._requests["/slowloris"] <= int(query.get("after", "0")):
            page = b"<html><body>a page</body></html>"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(page), page)
            )
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 OK\r\n")
        while True:
            for byte in b"X-Slow: yes\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(every)

    async def _page(self, writer: asyncio.StreamWriter, body: str, ctype: str) -> None:
        data = body.encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (ctype.encode(), len(data), data)
        )
        await writer.drain()

    async def _media(self, name: str, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        if name not in self._files:
            await self._not_found(writer)
            return
        body, ctype = self._files[name]
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (ctype.encode(), len(body))
        )
        writer.write(body)
        await writer.drain()

    async def _videos(self, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        count, src = int(query.get("count", "3000")), html.escape(query.get("src", "clip.mp4"))
        tags = "".join(f'<video src="/media/{src}?n={n}"></video>\n' for n in range(count))
        body = f"<!DOCTYPE html><html><head><title>many</title></head><body>{tags}</body></html>"
        await self._page(writer, body, "text/html; charset=utf-8")

    async def _cover(self, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        video, image = html.escape(query["video"]), html.escape(query["image"])
        body = (
            "<!DOCTYPE html><html><head><title>Song</title>"
            f'<meta property="og:image" content="/media/{image}"></head>'
            f'<body><video src="/media/{video}"></video></body></html>'
        )
        await self._page(writer, body, "text/html; charset=utf-8")

    async def _hls(self, query: dict[str, str], writer: asyncio.StreamWriter) -> None:
        count = int(query.get("segments", "150000"))
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            "#EXT-X-TARGETDURATION:1",
            "#EXT-X-PLAYLIST-TYPE:VOD",
        ]
        for n in range(count):
            lines += ["#EXTINF:1,", f"s/{n}.ts"]
        lines.append("#EXT-X-ENDLIST")
        await self._page(writer, "\n".join(lines) + "\n", "application/vnd.apple.mpegurl")
