"""/pdf end to end: a real Chromium prints local pages, and the URL guard holds for everything
it fetches. One daemon (ALLOW_PRIVATE_URLS=false) and one browser for all the cases.

The test's DNS (seamed_main.py) makes `site.test` a public site on 127.0.0.2 and `inside.test`
a name for 127.0.0.3, the private side, whose server must never see a request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.records import Call
from tests.fakes.site import ARTICLE_TEXT, Site

SEAMED_MAIN = Path(__file__).resolve().parent / "seamed_main.py"
USER, PERSIAN_USER = 1001, 2002
PUBLIC, PRIVATE = "127.0.0.2", "127.0.0.3"


@pytest.fixture
async def uploads(tmp_path: Path) -> AsyncIterator[FakeBotApi]:
    (tmp_path / "uploads").mkdir()
    async with FakeBotApi(save_dir=tmp_path / "uploads") as api:
        yield api


def pdf_of(call: Call) -> PdfReader:
    [document] = call.files.values()
    assert document.saved is not None
    return PdfReader(document.saved)


def text_of(pdf: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in pdf.pages)


def pictures(pdf: PdfReader) -> list[tuple[int, int]]:
    """The size of every picture the PDF draws (its image XObjects, in forms too)."""
    found: list[tuple[int, int]] = []

    def walk(resources: Any) -> None:
        for ref in (resources or {}).get("/XObject", {}).values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                found.append((int(obj["/Width"]), int(obj["/Height"])))
            elif obj.get("/Subtype") == "/Form":
                walk(obj.get("/Resources"))

    for page in pdf.pages:
        walk(page.get("/Resources"))
    return found


async def test_pdf_prints_pages_and_the_guard_holds_for_all_the_browser_fetches(
    uploads: FakeBotApi, tmp_path: Path
) -> None:
    bot_api = uploads
    async with Site(PUBLIC) as site, Site(PRIVATE) as inside:
        dns = {"site.test": [PUBLIC], "inside.test": [PRIVATE]}
        env = {
            "BOT_TOKEN": bot_api.token,
            "TELEGRAM_API_URL": bot_api.url,
            "DATA_DIR": str(tmp_path / "data"),
            "ALLOW_PRIVATE_URLS": "false",
            "CHOICE_TIMEOUT_SECONDS": "0",
            "PDF_TIMEOUT_SECONDS": "12",
            "LOG_LEVEL": "INFO",
            "TEST_DNS": json.dumps(dns),
            "TEST_PUBLIC": PUBLIC,
        }
        daemon = Daemon(env, cwd=tmp_path, main=SEAMED_MAIN)
        await daemon.start()
        try:
            await daemon.wait_log("started version=", timeout=20)
            await _cases(daemon, bot_api, site, inside)
        finally:
            await daemon.stop()
        assert inside.requests == []  # the private side was never asked for anything


async def _cases(daemon: Daemon, bot_api: FakeBotApi, site: Site, inside: Site) -> None:
    # /pdf alone says how to use it.
    bot_api.push_message(USER, "/pdf")
    usage = await bot_api.wait_for_text(USER, "Save a web page as a PDF")
    assert "/pdf https://" in usage.content

    # A loopback page is refused before any request reaches it.
    bot_api.push_message(USER, f"/pdf {inside.url('/article')}")
    await bot_api.wait_for_text(USER, "not allowed")
    await daemon.wait_log("job_end id=1 ")

    # An article: its text and both pictures, the lazy one too; the picture it embeds from
    # the private side (by name, and by loopback address) is left out.
    leak = f"{inside.url('/secret.png', 'inside.test')}"
    article = site.url(f"/article?private={leak}", "site.test")
    sent = bot_api.push_message(USER, f"/pdf {article}")
    call = await bot_api.wait_for_file(USER, timeout=60)
    assert call.method == "sendDocument"
    assert call.params["reply_parameters"]["message_id"] == bot_api.message_id_of(sent)
    [document] = call.files.values()
    assert document.filename == "An article worth keeping.pdf"
    pdf = pdf_of(call)
    text = text_of(pdf)
    assert ARTICLE_TEXT in text
    assert "site.test" in text  # the header
    assert f"Page 1 of {len(pdf.pages)}" in text  # the footer
    # Both 48-pixel pictures; the refused one is Chromium's broken-image mark, if anything.
    assert [size for size in pictures(pdf) if size == (48, 48)] == [(48, 48)] * 2
    assert "/blue.png" in site.requests  # the lazy one
    await daemon.wait_log("page_request_refused host=inside.test")
    # The browser ran under its memory ceiling: started through the guard's wrapper.
    assert "/bin/pdf-browser" in await daemon.wait_log("pdf_browser_started")
    await daemon.wait_log("job_end id=2 outcome=delivered")

    # A page that never finishes loading is printed at its deadline, as far as it got; the
    # word "pdf" beside a link asks for the page; a Persian reader's footer has Persian digits.
    bot_api.push_message(PERSIAN_USER, f"{site.url('/slow', 'site.test')} pdf", language_code="fa")
    call = await bot_api.wait_for_file(PERSIAN_USER, timeout=60)
    assert "بارگیری صفحه تا پایان مهلتش تمام نشد" in call.params["caption"]
    slow = text_of(pdf_of(call))
    assert ARTICLE_TEXT in slow
    assert "۱" in slow and "1 of" not in slow
    await site.wait_gone("/never.png")  # the browser let go of what it was still loading

    # A page link sent for download has no video: the answer offers the page as a PDF.
    bot_api.push_message(USER, site.url("/article", "site.test"))
    answer = await bot_api.wait_for_text(USER, "No video or audio")
    [button] = answer.buttons
    mark = bot_api.mark()
    bot_api.push_callback(USER, answer.message_id, button["callback_data"])
    call = await bot_api.wait_for_file(USER, timeout=60, after=mark)
    assert ARTICLE_TEXT in text_of(pdf_of(call))

    # Cancel stops the browser's work: the picture it was still reading is let go.
    bot_api.push_message(USER, f"/pdf {site.url('/drip', 'site.test')}")
    await site.wait_request("/drip.png")
    bot_api.push_message(USER, "/cancel")
    await site.wait_gone("/drip.png")
    await bot_api.wait_for_text(USER, "Cancelled")
