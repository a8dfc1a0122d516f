"""A printed page to a file: the PDF as the browser streams it (counted, capped), or a PNG of
the page's top when printing fails."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from bot.model.failures import FailureReason, FetchError

log = logging.getLogger(__name__)

SCREENSHOT_HEIGHT_CAP_PX = 8_000  # the PNG's height (1280 x 8000: 40 MB of pixels at most)
MAX_PDF_PAGES = 100
READ_CHUNK = 1024 * 1024


async def print_pdf(page: Page, context: BrowserContext, path: Path, cap: int) -> int:
    """Print to `path` as the browser streams it, at most `cap` bytes; returns the size."""
    cdp = await context.new_cdp_session(page)
    try:
        printed = await cdp.send(
            "Page.printToPDF",
            {
                "printBackground": True,
                "preferCSSPageSize": True,
                "transferMode": "ReturnAsStream",
                "pageRanges": f"1-{MAX_PDF_PAGES}",
                "paperWidth": 8.27,
                "paperHeight": 11.69,
            },
        )
        return await _save_stream(cdp, str(printed["stream"]), path, cap)
    finally:
        await cdp.detach()


async def _save_stream(cdp: CDPSession, handle: str, path: Path, cap: int) -> int:
    size = 0
    with path.open("wb") as out:
        while True:
            chunk: dict[str, Any] = await cdp.send(
                "IO.read", {"handle": handle, "size": READ_CHUNK}
            )
            data = str(chunk.get("data", ""))
            raw = base64.b64decode(data) if chunk.get("base64Encoded") else data.encode("latin-1")
            size += len(raw)
            if size > cap:
                raise FetchError(FailureReason.TOO_LARGE, "the PDF", limit=cap)
            out.write(raw)
            if chunk.get("eof"):
                break
    await cdp.send("IO.close", {"handle": handle})
    return size


async def picture(page: Page, path: Path, height: int, viewport: dict[str, int]) -> int:
    """A PNG of the page's top, SCREENSHOT_HEIGHT_CAP_PX at most; RENDER_FAILED if not even
    that can be had."""
    try:
        height = height or int(await page.evaluate("document.documentElement.scrollHeight"))
        clip = {
            "x": 0,
            "y": 0,
            "width": viewport["width"],
            "height": min(max(height, viewport["height"]), SCREENSHOT_HEIGHT_CAP_PX),
        }
        await page.screenshot(path=path, full_page=True, clip=clip)  # type: ignore[arg-type]
    except PlaywrightError as exc:
        log.warning("page_picture_failed error=%s", exc.message.splitlines()[0])
        raise FetchError(FailureReason.RENDER_FAILED, exc.message.splitlines()[0]) from exc
    return (await asyncio.to_thread(path.stat)).st_size
