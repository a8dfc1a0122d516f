"""One headless Chromium for the process: started for the first page, closed when idle.

Playwright drives Debian's Chromium (no browser download). At most `workers` pages render at
once; the others wait for a slot. The browser's own traffic (update checks, sign-in probes)
goes to a proxy that refuses everything: only a page's context, pointed at that page's
vetting proxy (proxy.py), reaches the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.model.failures import FailureReason, FetchError
from bot.pages.proxy import VettingProxy

if TYPE_CHECKING:  # Playwright is imported when the browser starts (20 MB, 0.2 s)
    from playwright.async_api import Browser, Playwright

log = logging.getLogger(__name__)

IDLE_S = 60.0  # the browser is closed this long after its last page
LAUNCH_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 10.0
# Chromium's headless shell first (Debian's chromium-headless-shell, what `make run` installs):
# it prints the same, with one renderer and a lighter browser process (a typical article:
# 452 MB of PSS for the whole tree against 613 MB with the full browser; docs/BENCHMARKS.md).
# Then the full browser: its binary, as /usr/bin/chromium is a shell wrapper that adds
# extensions and API keys.
CANDIDATES = (
    "/usr/lib/chromium/chromium-headless-shell",
    "chromium-headless-shell",
    "/usr/lib/chromium/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
)
V8_HEAP_MB = 512  # a page's JavaScript heap; past it the page's renderer dies, not the bot
ARGS = (
    "--no-sandbox",  # as root Chromium starts only so; each page runs in a fresh context
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--deny-permission-prompts",
    # Names go to the proxy (SOCKS5 resolves there): the browser resolves nothing itself, so
    # no DNS prefetch or preconnect leaks a lookup past the guard.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    # WebRTC's UDP does not go through a proxy: none at all.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    f"--js-flags=--max-old-space-size={V8_HEAP_MB}",
)


def find_browser(configured: Path | None) -> Path | None:
    """PDF_BROWSER, or the first Chromium installed; None when there is none."""
    if configured is not None:
        return configured
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return Path(found)
    return None


@dataclass(frozen=True, slots=True)
class BrowserConfig:
    executable: Path | None  # PDF_BROWSER; None: found at the first page (find_browser)
    workers: int  # PDF_WORKERS: pages at once
    idle_s: float = IDLE_S


async def _refuse(host: str, port: int) -> list[str]:
    raise FetchError(FailureReason.BLOCKED_URL, "the browser's own request")


class BrowserHost:
    """Owns the browser process (and Playwright's driver) and the page slots."""

    def __init__(self, config: BrowserConfig) -> None:
        self._cfg = config
        self._slots = asyncio.Semaphore(config.workers)
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._own_traffic: VettingProxy | None = None
        self._busy = 0
        self._idle: asyncio.Task[None] | None = None
        self._cleanups: set[asyncio.Task[None]] = set()
        self._closed = False

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[Browser]:
        """A running browser, for one page; at most `workers` at once."""
        self._busy += 1
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        try:
            async with self._slots:
                yield await self._running()
        finally:
            self._busy -= 1
            if self._busy == 0 and not self._closed:
                self._idle = asyncio.create_task(self._close_when_idle(), name="browser-idle")

    def cleanup(self, work: Coroutine[Any, Any, None]) -> Awaitable[None]:
        """Run `work` (closing a page) to its end even if its caller is cancelled meanwhile;
        `close` waits for it."""
        task = asyncio.ensure_future(work)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        return asyncio.shield(task)

    async def close(self) -> None:
        """Close the browser for good (the daemon stops)."""
        self._closed = True
        if self._idle is not None:
            self._idle.cancel()
        if self._cleanups:
            await asyncio.wait(list(self._cleanups), timeout=CLOSE_TIMEOUT_S)
        async with self._lock:
            await self._shut()

    async def _running(self) -> Browser:
        async with self._lock:
            if self._closed:
                raise FetchError(FailureReason.INTERRUPTED, "the browser is closed")
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            await self._shut()  # a browser that died (killed, crashed) is started anew
            self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        executable = find_browser(self._cfg.executable)
        if executable is None:
            log.error("pdf_browser_missing hint=apt-get install chromium, or set PDF_BROWSER")
            raise FetchError(FailureReason.PAGES_UNAVAILABLE, "no Chromium installed")
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        refuser = VettingProxy(_refuse, budget=0, quiet=True)  # its update checks, say
        self._own_traffic = refuser
        playwright = await async_playwright().start()
        self._playwright = playwright
        try:
            browser = await playwright.chromium.launch(
                executable_path=executable,
                args=list(ARGS),
                proxy={"server": await refuser.start()},
                timeout=LAUNCH_TIMEOUT_S * 1000,
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
        except PlaywrightError as exc:
            # The browser's own words say why; a traceback of the driver's would not.
            log.error("pdf_browser_failed executable=%s error=%s", executable, exc.message)  # noqa: TRY400
            await self._shut()
            raise FetchError(FailureReason.PAGES_UNAVAILABLE, exc.message) from exc
        log.info("pdf_browser_started version=%s executable=%s", browser.version, executable)
        browser.on("disconnected", self._gone)
        return browser

    def _gone(self, browser: Browser) -> None:
        if browser is self._browser:  # not closed by us: killed (its memory ceiling), crashed
            log.warning("pdf_browser_gone hint=PDF_MEMORY_MB may be too low for this page")

    async def _close_when_idle(self) -> None:
        await asyncio.sleep(self._cfg.idle_s)
        async with self._lock:
            if self._busy == 0:
                log.info("pdf_browser_idle after=%.0fs", self._cfg.idle_s)
                await self._shut()

    async def _shut(self) -> None:
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        refuser, self._own_traffic = self._own_traffic, None
        if playwright is not None:
            from playwright.async_api import Error as PlaywrightError

            if browser is not None:
                with contextlib.suppress(PlaywrightError, TimeoutError):
                    async with asyncio.timeout(CLOSE_TIMEOUT_S):
                        await browser.close()
                log.info("pdf_browser_closed")
            # Stopping the driver kills whatever browser it still has.
            with contextlib.suppress(PlaywrightError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await playwright.stop()
        if refuser is not None:
            await refuser.close()
