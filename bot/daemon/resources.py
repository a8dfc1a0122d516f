"""What the daemon opens and must close: the thread pools, the download client and URL guard,
the browser for /pdf, yt-dlp's JavaScript runtime, cookies, the database and the queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from bot import __version__
from bot.config.settings import Settings
from bot.config.ytdlp_stage import active_stage
from bot.daemon.children import guarded_browser
from bot.daemon.seams import Seams
from bot.download.cookies import CookieStore
from bot.download.jsruntime import JS_RUNTIME_ADVICE, JsRuntime, find_deno, probe, runtime_line
from bot.download.pinned import download_client
from bot.download.safety import UrlGuard
from bot.pages.browser import BrowserConfig, BrowserHost, find_browser
from bot.pages.render import Renderer
from bot.store.db import Database

if TYPE_CHECKING:
    from bot.remote.connect import QueueLink

log = logging.getLogger(__name__)

IO_THREADS = 4


@dataclass
class Pools:
    """What downloads run on: the pools, the URL guard, the download client, the browser."""

    blocking: ThreadPoolExecutor
    io: ThreadPoolExecutor
    guard: UrlGuard
    download_client: httpx.AsyncClient
    js: JsRuntime  # the deno yt-dlp runs (YouTube's challenge), or none
    cookies: CookieStore  # COOKIES_DIR per site, then YTDLP_COOKIES
    pages: Renderer  # /pdf: its browser starts at the first page


async def open_js_runtime(settings: Settings) -> JsRuntime:
    """Find and ask the JavaScript runtime once; one line says what yt-dlp has."""
    js = await probe(find_deno(active_stage(settings.data_dir)))
    log.info(runtime_line(js))
    if js.path is None:
        log.warning("js_runtime_missing advice=%r", JS_RUNTIME_ADVICE)
    return js


@dataclass
class Runtime:
    """Everything with a lifetime that the daemon opens and must close."""

    db: Database
    pools: Pools
    queue: QueueLink | None  # with QUEUE_URL: this process is the front of workers
    seams: Seams  # the real makers, or a test's


@contextlib.asynccontextmanager
async def open_pools(settings: Settings, seams: Seams) -> AsyncIterator[Pools]:
    loop = asyncio.get_running_loop()
    io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="io")
    # DNS lookups (getaddrinfo) use the loop's default executor: keep them off the download pool.
    loop.set_default_executor(io)
    blocking = ThreadPoolExecutor(settings.download_workers, thread_name_prefix="download")
    guard = seams.guard(settings)
    downloads = download_client(
        guard.addresses,
        settings.download_proxy_url,
        timeout=httpx.Timeout(30, connect=15),
        headers={"User-Agent": f"Mozilla/5.0 (compatible; tgfetch/{__version__})"},
    )
    # The guarded wrapper start-up wrote (PDF_MEMORY_MB), else the browser itself (a test's
    # pools, or a process that wrote no wrappers).
    executable = guarded_browser(settings.data_dir) or settings.pdf_browser
    browser = BrowserHost(BrowserConfig(executable, settings.pdf_workers))
    if settings.pdf_pages and find_browser(settings.pdf_browser) is None:
        log.warning("pdf_browser_missing hint=apt-get install chromium, or set PDF_PAGES=off")
    try:
        js = await open_js_runtime(settings)
        cookies = CookieStore(settings.cookies_folder, settings.ytdlp_cookies)
        pages = Renderer(browser, guard, settings.download_proxy_url)
        yield Pools(blocking, io, guard, downloads, js, cookies, pages)
    finally:
        await browser.close()
        await downloads.aclose()
        blocking.shutdown(wait=False, cancel_futures=True)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, seams: Seams) -> AsyncIterator[Runtime]:
    db = Database(settings.data_dir / "tgfetch.sqlite3")
    async with contextlib.AsyncExitStack() as stack:
        pools = await stack.enter_async_context(open_pools(settings, seams))
        queue = None
        if settings.queue_url is not None:
            # redis and saq are imported only by a front (QUEUE_URL), not by a bot alone.
            from bot.remote.connect import open_queue
            from bot.remote.tuning import Tuning

            tuning = Tuning.from_settings(settings)
            queue = await stack.enter_async_context(
                open_queue(settings.queue_url, tuning, patient=False)
            )
        try:
            await db.open()
            yield Runtime(db, pools, queue, seams)
        finally:
            await db.close()
