"""Renders a page to a file on the process's browser, within its deadline, every connection
vetted: the page's own proxy goes to the addresses the URL guard vetted, or through the
operator's proxy (DOWNLOAD_PROXY_URL) as downloads do.

The deadline (PDF_TIMEOUT_SECONDS) starts once the page has a browser slot: half of it to
load (a page that never finishes loading is printed as it stands then), part of the rest for
the lazy images, the rest to print. Past it, or on a stop (Cancel, a restart), the page's
context is closed, which ends its renderer's work and every connection its proxy still
carries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from bot.model.failures import FailureReason, FetchError
from bot.pages.browser import BrowserHost
from bot.pages.order import PageOrder, Rendered
from bot.pages.proxy import Streams, VettingProxy
from bot.pages.upstream import open_tunnel

log = logging.getLogger(__name__)

PAGE_BYTES_CAP = 200 * 1024 * 1024  # all a page may download (its images, scripts, fonts)
CONNECT_S = 15.0  # a tunnel through the operator's proxy

__all__ = ["PageOrder", "Rendered", "Renderer"]


class PageGuard(Protocol):
    """The URL guard (bot/download/safety.py's UrlGuard)."""

    async def addresses(self, host: str, port: int) -> list[str]: ...

    async def check(self, url: str, *, resolve: bool = True) -> None: ...


class Renderer:
    """Renders pages on the process's browser; `guard` vets every connection a page makes."""

    def __init__(self, host: BrowserHost, guard: PageGuard, upstream: str | None = None) -> None:
        self._host = host
        self._guard = guard
        self._upstream = upstream

    async def render(self, order: PageOrder) -> Rendered:
        """The page as a file in `order.folder`. Raises FetchError: TIMEOUT past the deadline,
        the refusal or failure of the page's own address, HTTP_STATUS, RENDER_FAILED."""
        from bot.pages.page import render_page  # Playwright, at the first page

        async with self._host.slot() as browser:
            started = time.monotonic()
            deadline = started + order.seconds
            try:
                async with asyncio.timeout(order.seconds):
                    proxy = self._proxy()
                    cleanup = self._host.cleanup
                    rendered = await render_page(browser, order, proxy, cleanup, deadline)
            except TimeoutError:
                log.info("page_timeout seconds=%.0f", order.seconds)
                raise FetchError(FailureReason.TIMEOUT, "the page's deadline passed") from None
        log.info(
            "page_rendered pdf=%s loaded=%s bytes=%d seconds=%.2f",
            rendered.pdf,
            rendered.loaded,
            rendered.size,
            time.monotonic() - started,
        )
        return rendered

    def _proxy(self) -> VettingProxy:
        upstream = self._upstream
        if upstream is None:
            return VettingProxy(self._guard.addresses, budget=PAGE_BYTES_CAP)

        async def vet(host: str, port: int) -> list[str]:
            # The operator's proxy resolves names, as for downloads: what needs no lookup
            # (an address, localhost) is judged here.
            await self._guard.check(f"http://{_netloc(host, port)}/", resolve=False)
            return [host]

        async def connect(names: list[str], port: int) -> Streams:
            async with asyncio.timeout(CONNECT_S):
                return await open_tunnel(upstream, names[0], port)

        return VettingProxy(vet, budget=PAGE_BYTES_CAP, connect=connect)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
