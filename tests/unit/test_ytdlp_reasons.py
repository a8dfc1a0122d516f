"""Each reason built from yt-dlp's own exceptions, raised the way yt-dlp raises them: an
extractor that says what YouTube says, the generic extractor against a server answering 429
or 503, the format selector finding nothing."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.download.cancel import CancelToken
from bot.download.reasons import classify_exception
from bot.download.safety import UrlGuard
from bot.download.ytdlp import YtdlpFetcher
from bot.download.ytdlp_guard import JobNet, guarded_youtube_dl
from bot.model.failures import FailureReason, FetchError, passes
from bot.model.job import FormatChoice

BOT_CHECK = (
    "Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser or --cookies for the"
    " authentication"
)
YT_RATE_LIMIT = "This content isn't available, try again later"


def site_extractor() -> Any:
    """An extractor for site.test that fails the way YouTube's does (same helper calls)."""
    from yt_dlp.extractor.common import InfoExtractor

    class SiteIE(InfoExtractor):  # type: ignore[misc]
        _VALID_URL = r"https?://site\.test/(?P<id>\w+)"
        IE_NAME = "site"

        def _real_extract(self, url: str) -> dict[str, Any]:
            what = self._match_id(url)
            if what == "botcheck":
                self.raise_no_formats(BOT_CHECK, expected=True)
            if what == "captcha":
                self.raise_no_formats(
                    "Video unavailable. YouTube is requiring a captcha challenge before playback",
                    expected=True,
                )
            if what == "ytlimit":
                self.raise_no_formats(YT_RATE_LIMIT, expected=True)
            if what == "geo":
                self.raise_geo_restricted(countries=["US"])
            if what == "login":
                self.raise_login_required()
            return {
                "id": what,
                "title": "A clip",
                "formats": [
                    {"url": "http://site.test/v.mp4", "format_id": "hd", "ext": "mp4"},
                ],
            }

    return SiteIE


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = int(self.path.strip("/").split("/")[0])
        body = b"<html><head><title>Nothing</title></head><body>text</body></html>"
        body = body if status == 200 else b""
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def ydl(tmp_path: Path) -> Iterator[Any]:
    params = {"quiet": True, "no_warnings": True, "retries": 0, "extractor_retries": 0}
    with ThreadPoolExecutor(1) as lookups:
        net = JobNet(CancelToken(), 1024 * 1024, lookups)
        guarded = guarded_youtube_dl(
            {**params, "paths": {"home": str(tmp_path)}}, UrlGuard(True), net
        )
        with guarded as ydl:
            ydl.add_info_extractor(site_extractor()())
            yield ydl


def raised(ydl: Any, url: str, **kwargs: Any) -> FetchError:
    import yt_dlp.utils

    with pytest.raises(yt_dlp.utils.YoutubeDLError) as caught:
        ydl.extract_info(url, download=False, **kwargs)
    return classify_exception(caught.value)


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("botcheck", FailureReason.BOT_CHECK),
        ("captcha", FailureReason.BOT_CHECK),
        ("ytlimit", FailureReason.RATE_LIMITED),
        ("geo", FailureReason.GEO_BLOCKED),
        ("login", FailureReason.LOGIN_REQUIRED),
    ],
)
def test_what_an_extractor_raises(ydl: Any, page: str, reason: FailureReason) -> None:
    failure = raised(ydl, f"https://site.test/{page}", ie_key="Site")
    assert failure.reason is reason
    assert failure.detail  # yt-dlp's words, for the log only


def test_a_429_is_rate_limited_and_a_503_is_the_sites_error(ydl: Any, server: str) -> None:
    limited = raised(ydl, f"{server}/429/page")
    assert limited.reason is FailureReason.RATE_LIMITED
    assert limited.params["status"] == 429
    down = raised(ydl, f"{server}/503/page")
    assert down.reason is FailureReason.HTTP_STATUS
    assert down.params["status"] == 503
    gone = raised(ydl, f"{server}/404/page")
    assert (gone.reason, gone.params["status"]) == (FailureReason.HTTP_STATUS, 404)
    assert passes(limited.reason, 429)
    assert passes(down.reason, 503)
    assert not passes(gone.reason, 404)


def test_a_format_that_is_not_there(tmp_path: Path) -> None:
    import yt_dlp

    params = {"quiet": True, "format": "best[height>9999]", "paths": {"home": str(tmp_path)}}
    with yt_dlp.YoutubeDL(params) as ydl:
        ydl.add_info_extractor(site_extractor()())
        failure = raised(ydl, "https://site.test/clip", ie_key="Site")
    assert failure.reason is FailureReason.FORMAT_UNAVAILABLE


def test_a_page_without_media_is_unsupported_by_the_generic_extractor(
    ydl: Any, server: str
) -> None:
    assert raised(ydl, f"{server}/200/page").reason is FailureReason.NO_MEDIA


def test_which_reasons_pass_with_time() -> None:
    assert passes(FailureReason.BOT_CHECK)
    assert passes(FailureReason.RATE_LIMITED)
    assert not passes(FailureReason.FORMAT_UNAVAILABLE)
    assert not passes(FailureReason.LOGIN_REQUIRED)


async def test_the_fetcher_tells_a_missing_format_from_one_too_large(tmp_path: Path) -> None:
    from bot.download.ytdlp import PageInfo

    def factory(params: dict[str, Any], cancel: CancelToken) -> Any:
        ydl = guarded_youtube_dl(params, UrlGuard(True), JobNet(cancel, 1 << 20, lookups))
        ydl.add_info_extractor(site_extractor()())
        return ydl

    def page(size: int | None, acodec: str) -> PageInfo:
        fmt: dict[str, Any] = {"url": "http://site.test/v", "format_id": "a", "ext": "m4a"}
        fmt.update({"vcodec": "none", "acodec": acodec, "filesize": size})
        info: dict[str, Any] = {"id": "x", "title": "t", "extractor": "site"}
        info.update({"webpage_url": "https://site.test/x", "formats": [fmt]})
        info["extractor_key"] = "Site"
        return PageInfo("https://site.test/x", "t", None, size, False, info)

    with ThreadPoolExecutor(2) as pool, ThreadPoolExecutor(1) as lookups:
        fetcher = YtdlpFetcher(pool, max_size=1000, factory=factory)
        with pytest.raises(FetchError) as caught:  # every format is larger than the limit
            await fetcher.download(
                page(5000, "mp4a"), FormatChoice.AUDIO, tmp_path, lambda *_: None, CancelToken()
            )
        assert caught.value.reason is FailureReason.TOO_LARGE
        with pytest.raises(FetchError) as caught:  # no sound at all: nothing to pick
            await fetcher.download(
                page(10, "none"), FormatChoice.AUDIO, tmp_path, lambda *_: None, CancelToken()
            )
        assert caught.value.reason is FailureReason.FORMAT_UNAVAILABLE
