"""A failure's own words (httpx's, yt-dlp's) become a reason; the words stay for the log."""

from __future__ import annotations

import httpx
import pytest

from bot.download.http import fetch_error
from bot.download.reasons import classify_message
from bot.model.failures import FailureReason

REQUEST = httpx.Request("GET", "https://a.example/x")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), FailureReason.CONNECTION),
        (httpx.ConnectError("All connection attempts failed"), FailureReason.CONNECTION),
        (httpx.ConnectError("[Errno -2] Name or service not known"), FailureReason.DNS),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            FailureReason.TLS,
        ),
        (httpx.ReadTimeout("timed out"), FailureReason.TIMEOUT),
        (httpx.TooManyRedirects("Exceeded maximum allowed redirects."), FailureReason.REDIRECTS),
        (httpx.RemoteProtocolError("peer closed connection"), FailureReason.CONNECTION_LOST),
        (httpx.ReadError(""), FailureReason.CONNECTION_LOST),
    ],
)
def test_httpx_failures(error: httpx.HTTPError, reason: FailureReason) -> None:
    failure = fetch_error(error)
    assert failure.reason is reason
    assert failure.detail  # kept for job_failed in the log


YTDLP_SAYS: dict[FailureReason, tuple[str, ...]] = {
    FailureReason.NO_MEDIA: ("Unsupported URL: https://a.example/",),
    # yt-dlp's merge or HLS fix-up: ffmpeg past CHILD_MEMORY_MB (or damaged media)
    FailureReason.PROCESSING: (
        "Postprocessing: Error while decoding stream #0:0: Cannot allocate memory",
        "Postprocessing: Conversion failed!",
    ),
    FailureReason.LOGIN_REQUIRED: (
        "[youtube] abc: Private video. Sign in if you've been granted access to this video",
        "[youtube] abc: Sign in to confirm your age",
    ),
    FailureReason.UNAVAILABLE: (
        "[youtube] abc: Video unavailable. This video has been removed by the uploader",
    ),
    FailureReason.GEO_BLOCKED: ("The uploader has not made this video available in your country",),
    FailureReason.UPCOMING: ("[youtube] abc: This live event will begin in 3 hours.",),
    FailureReason.CONNECTION: (
        "Unable to download webpage: <urlopen error [Errno 111] Connection refused>",
    ),
    FailureReason.DNS: (
        "Unable to download webpage: <urlopen error [Errno -3] Temporary failure in name"
        " resolution>",
    ),
    FailureReason.CONNECTION_LOST: (
        "unable to download video data: IncompleteRead(100 bytes read)",
    ),
    FailureReason.FORMAT_UNAVAILABLE: ("Requested format is not available",),
    FailureReason.BOT_CHECK: (
        "[youtube] abc: Sign in to confirm you’re not a bot. Use --cookies-from-browser",
    ),
    FailureReason.RATE_LIMITED: ("Unable to download webpage: HTTP Error 429: Too Many Requests",),
    FailureReason.DISK_FULL: ("[Errno 28] No space left on device",),
    FailureReason.UNSUPPORTED: ("Unable to extract title; please report this issue",),
}


@pytest.mark.parametrize(
    ("message", "reason"),
    [(message, reason) for reason, said in YTDLP_SAYS.items() for message in said],
)
def test_ytdlp_messages(message: str, reason: FailureReason) -> None:
    failure = classify_message(message)
    assert failure.reason is reason
    assert failure.detail == message  # for the log


def test_an_error_status_from_ytdlp_keeps_its_number() -> None:
    failure = classify_message("[generic] x: Unable to download webpage: HTTP Error 403")
    assert failure.reason is FailureReason.HTTP_STATUS
    assert failure.params["status"] == 403


def test_a_url_in_the_message_does_not_decide_the_reason() -> None:
    assert classify_message("Unsupported URL: https://a.example/sign-in/timeout").reason is (
        FailureReason.NO_MEDIA
    )
