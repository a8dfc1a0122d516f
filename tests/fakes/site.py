"""A web site for /pdf's tests: an article with pictures (one lazy), pages that never finish
loading, and a record of every request and of every request the browser gave up.

Routes (on the loopback address it is given, random port):
- `GET /article?private=URL`: a title, text, a picture, a lazy one (`data-src`, far below the
  fold) and, with `private`, a picture from that URL (which must never be fetched).
- `GET /slow`: text, and a picture that never arrives: the page never finishes loading.
- `GET /drip`: text, and a picture that trickles in forever (the browser keeps working).
- `GET /red.png`, `/blue.png`: small PNGs; `/never.png` never answers; `/drip.png` trickles.
"""

from __future__ import annotations

import asyncio
import html
import struct
import zlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from aiohttp import web

from tests.fakes.waiters import Waiters

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ARTICLE_TEXT = "The quick archivist keeps every article"
LAZY_GAP_PX = 4000  # the lazy picture sits this far below the first screen


def png(rgb: tuple[int, int, int], side: int = 48) -> bytes:
    """A plain square PNG of one colour."""
    raw = b"".join(b"\x00" + bytes(rgb) * side for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class Site:
    """An aiohttp server on `host`; `requests` lists each path asked for, `gone` each request
    whose client went away before it ended."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.requests: list[str] = []
        self.gone: list[str] = []
        self._waiters = Waiters()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/article", self._article)
        app.router.add_get("/slow", self._page_with("/never.png"))
        app.router.add_get("/drip", self._page_with("/drip.png"))
        app.router.add_get("/red.png", self._picture((200, 30, 30)))
        app.router.add_get("/blue.png", self._picture((30, 30, 200)))
        app.router.add_get("/never.png", self._never)
        app.router.add_get("/drip.png", self._drip)
        app.router.add_get("/{tail:.*}", self._anything)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    async def wait_request(self, path: str, timeout: float = 30) -> None:
        if await self._waiters.wait(lambda: path in self.requests or None, timeout) is None:
            raise TimeoutError(f"{path} was not requested; requests: {self.requests}")

    async def wait_gone(self, path: str, timeout: float = 30) -> None:
        if await self._waiters.wait(lambda: path in self.gone or None, timeout) is None:
            raise TimeoutError(f"the client of {path} stayed; requests: {self.requests}")

    def _seen(self, request: web.Request) -> None:
        self.requests.append(request.path)
        self._waiters.notify()

    async def _article(self, request: web.Request) -> web.Response:
        self._seen(request)
        private = request.query.get("private")
        leak = f'<img src="{html.escape(private)}" width="48">' if private else ""
        body = (
            "<!doctype html><html><head><title>An article worth keeping</title></head>"
            '<body style="background:#f4f0e6">'
            f"<h1>An article</h1><p>{ARTICLE_TEXT}.</p>"
            f'<img src="/red.png" width="48">{leak}'
            f'<div style="height:{LAZY_GAP_PX}px"></div>'
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/blue.png"'
            ' width="48" height="48"><p>The end.</p></body></html>'
        )
        return web.Response(text=body, content_type="text/html")

    def _page_with(self, picture: str) -> Handler:
        async def page(request: web.Request) -> web.Response:
            self._seen(request)
            body = (
                "<!doctype html><html><head><title>A page that keeps loading</title></head>"
                f'<body><p>{ARTICLE_TEXT}.</p><img src="{picture}" width="48"></body></html>'
            )
            return web.Response(text=body, content_type="text/html")

        return page

    def _picture(self, rgb: tuple[int, int, int]) -> Handler:
        data = png(rgb)

        async def picture(request: web.Request) -> web.Response:
            self._seen(request)
            return web.Response(body=data, content_type="image/png")

        return picture

    async def _never(self, request: web.Request) -> web.StreamResponse:
        self._seen(request)
        try:
            await asyncio.Event().wait()
        finally:
            self._gone(request)
        raise AssertionError("unreachable")

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        self._seen(request)
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        try:
            await response.prepare(request)
            while True:
                await response.write(b"\x00" * 64)
                await asyncio.sleep(0.1)
        finally:
            self._gone(request)

    async def _anything(self, request: web.Request) -> web.Response:
        self._seen(request)
        return web.Response(status=404, text="not here")

    def _gone(self, request: web.Request) -> None:
        self.gone.append(request.path)
        self._waiters.notify()
