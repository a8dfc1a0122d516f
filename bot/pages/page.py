"""One page in the browser: a fresh context behind its own vetting proxy, the page opened
within half its deadline, its lazy images woken, printed (output.py). Imported at the first
page: Playwright costs 20 MB and 0.2 s to import, which a bot that never prints need not pay."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from bot.model.failures import FailureReason, FetchError, JobError
from bot.pages.decor import stylesheet
from bot.pages.order import PageOrder, Rendered
from bot.pages.output import SCREENSHOT_HEIGHT_CAP_PX, picture, print_pdf
from bot.pages.proxy import Journal, VettingProxy

log = logging.getLogger(__name__)

# Runs a page's closing to its end even if the caller is cancelled (BrowserHost.cleanup).
Cleanup = Callable[[Coroutine[Any, Any, None]], Awaitable[None]]

VIEWPORT = {"width": 1280, "height": 800}
PAGE_HEIGHT_CAP_PX = 30_000  # lazy loading scrolls no further
LOAD_SHARE, PRINT_SHARE = 0.5, 0.3  # of the deadline: loading, and kept back for printing
LAZY_MAX_S = 10.0

# Before any of the page's own scripts, in every frame: no pop-ups, no WebRTC (its UDP would
# not go through the proxy; the launch flags forbid it too).
INIT_SCRIPT = """
window.open = () => null;
for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel']) {
  try { delete window[name]; } catch (e) {}
}
"""

# Lazy images: the old bot's data-src/data-original, and whatever loads on scroll.
LAZY_SCRIPT = """
async ({budget, cap}) => {
  const end = Date.now() + budget;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const wake = () => {
    for (const img of document.querySelectorAll('img')) {
      const d = img.dataset;
      const src = d.src || d.original || d.lazySrc;
      if (src && img.getAttribute('src') !== src) img.src = src;
      if (d.srcset) img.srcset = d.srcset;
      img.loading = 'eager';
    }
    for (const s of document.querySelectorAll('source[data-srcset]')) s.srcset = s.dataset.srcset;
  };
  wake();
  let y = 0;
  while (Date.now() < end) {
    const height = Math.min(document.documentElement.scrollHeight, cap);
    if (y + innerHeight >= height) break;
    y += innerHeight;
    window.scrollTo(0, y);
    await sleep(120);
    wake();
  }
  window.scrollTo(0, 0);
  const pending = [...document.images].filter((i) => !i.complete);
  const settled = pending.map((i) => new Promise((r) => {
    i.addEventListener('load', r, {once: true});
    i.addEventListener('error', r, {once: true});
  }));
  await Promise.race([Promise.all(settled), sleep(Math.max(0, end - Date.now()))]);
  return document.documentElement.scrollHeight;
}
"""


async def render_page(
    browser: Browser, order: PageOrder, proxy: VettingProxy, cleanup: Cleanup, deadline: float
) -> Rendered:
    """The page, opened in a fresh context whose only way out is `proxy`, to a file."""
    context: BrowserContext | None = None
    try:
        context = await browser.new_context(
            proxy={"server": await proxy.start()},
            accept_downloads=False,
            service_workers="block",
            viewport=VIEWPORT,  # type: ignore[arg-type]
            user_agent=_user_agent(browser),
        )
        await context.add_init_script(INIT_SCRIPT)
        page = await context.new_page()
        context.on("page", _no_popups)  # any page after this one is a pop-up
        return await _render(page, context, order, deadline, proxy.journal)
    except PlaywrightError as exc:  # the page's renderer died (out of memory, say)
        log.warning("page_failed error=%s", exc.message.splitlines()[0])
        raise FetchError(FailureReason.RENDER_FAILED, exc.message.splitlines()[0]) from exc
    finally:
        await cleanup(_close(context, proxy))


async def _render(
    page: Page, context: BrowserContext, order: PageOrder, deadline: float, journal: Journal
) -> Rendered:
    start = time.monotonic()
    loaded = await _open(page, order, start + order.seconds * LOAD_SHARE, journal)
    lazy = min(LAZY_MAX_S, deadline - time.monotonic() - order.seconds * PRINT_SHARE)
    height = await _wake_lazy(page, lazy)
    title = await page.title()
    await page.add_style_tag(content=stylesheet(order.decor))
    pdf = order.folder / f"{order.name}.pdf"
    try:
        size = await print_pdf(page, context, pdf, order.max_bytes)
    except PlaywrightError as exc:
        log.warning("page_print_failed error=%s", exc.message.splitlines()[0])
        png = order.folder / f"{order.name}.png"
        size = await picture(page, png, height, VIEWPORT)
        return Rendered(png, size, title, False, loaded, height > SCREENSHOT_HEIGHT_CAP_PX)
    return Rendered(pdf, size, title, True, loaded, height > PAGE_HEIGHT_CAP_PX)


async def _open(page: Page, order: PageOrder, until: float, journal: Journal) -> bool:
    """Navigate; True once the page has loaded, False when `until` came first."""
    try:
        response = await page.goto(order.url, wait_until="commit", timeout=_ms(until))
    except PlaywrightError as exc:
        raise _navigation_error(exc, journal) from None
    if response is not None and response.status >= 400:
        raise FetchError(FailureReason.HTTP_STATUS, response.status_text, status=response.status)
    try:
        await page.wait_for_load_state("load", timeout=_ms(until))
    except PlaywrightError:  # Playwright's TimeoutError is one: print what is there
        log.info("page_not_loaded url_length=%d", len(order.url))
        return False
    return True


async def _wake_lazy(page: Page, seconds: float) -> int:
    """Scroll through the page so lazy content loads; returns the page's height."""
    if seconds <= 0:
        return 0
    try:
        async with asyncio.timeout(seconds + 2):
            height = await page.evaluate(
                LAZY_SCRIPT, {"budget": int(seconds * 1000), "cap": PAGE_HEIGHT_CAP_PX}
            )
    except (PlaywrightError, TimeoutError) as exc:  # a hostile page can break it: go on
        log.info("page_lazy_skipped error=%s", type(exc).__name__)
        return 0
    return int(height) if isinstance(height, int | float) else 0


def _navigation_error(exc: PlaywrightError, journal: Journal) -> JobError:
    """Why the page itself could not be had: the proxy's verdict when it refused or could not
    reach it (the page's address, or a redirect's), else the browser's own words."""
    message = exc.message.splitlines()[0]
    if journal.refused:
        return next(iter(journal.refused.values()))
    if "Timeout" in type(exc).__name__ or "timeout" in message.lower():
        return FetchError(FailureReason.TIMEOUT, message)
    if "ERR_CERT" in message or "ERR_SSL" in message:
        return FetchError(FailureReason.TLS, message)
    if "ERR_TOO_MANY_REDIRECTS" in message:
        return FetchError(FailureReason.REDIRECTS, message)
    if "ERR_ABORTED" in message or "download" in message.lower():
        return FetchError(FailureReason.UNSUPPORTED, message)  # a file, not a page
    return FetchError(FailureReason.CONNECTION, message)


def _user_agent(browser: Browser) -> str:
    """A desktop Chrome's: some sites turn "HeadlessChrome" away."""
    major = browser.version.split(".")[0]
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
        f" Chrome/{major}.0.0.0 Safari/537.36"
    )


async def _no_popups(page: Page) -> None:
    log.info("page_popup_closed")
    await page.close()


async def _close(context: BrowserContext | None, proxy: VettingProxy) -> None:
    """The page's context (its renderer's work stops) and then its proxy (its connections)."""
    try:
        if context is not None:
            async with asyncio.timeout(10):
                await context.close()
    except (PlaywrightError, TimeoutError) as exc:
        log.warning("page_close_failed error=%s", type(exc).__name__)
    finally:
        await proxy.close()
    journal = proxy.journal
    log.info(
        "page_network connections=%d received=%d refused=%d",
        journal.connections,
        journal.received,
        len(journal.refused),
    )


def _ms(until: float) -> float:
    return max(1.0, (until - time.monotonic()) * 1000)
