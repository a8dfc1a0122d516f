"""A plain download cut short by a restart continues where it stopped, with an HTTP Range,
when the server still has the same file; a file that changed meanwhile starts from byte 0."""

from __future__ import annotations

import re
from urllib.parse import quote

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

USER = 4101
# 7.5 s in all: the restart comes at the first progress edit, about 3 s in (one edit per 3 s).
SIZE, RATE = 3_000_000, 400_000
# Nine seconds: the first progress edit comes about 3 s in (one edit per 3 s after "Working"),
# the restart then, and the rest lasts long enough for another edit 3 s after the new start.
LONG_SIZE, LONG_RATE = 4_500_000, 500_000
PERCENT = re.compile(r"(\d+)%")


def percents(bot_api: FakeBotApi, after: int = 0) -> list[int]:
    """The percentages the user's status message showed, in order, from call `after` on."""
    shown = []
    for call in bot_api.calls[after:]:
        text = str(call.params.get("text", ""))
        if call.chat_id == USER and "Downloading" in text and (found := PERCENT.search(text)):
            shown.append(int(found.group(1)))
    return shown


async def stop_mid_download(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, url: str
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, url)
    await bot_api.wait_for(
        lambda c: c.chat_id == USER and "Downloading" in str(c.params.get("text", "")),
        timeout=15,
    )
    daemon.signal()
    assert await daemon.wait_exit(15) == 0
    await bot_api.wait_for_text(USER, "restarting")
    await media.wait_streams(0)  # the server has counted what it sent


def range_start(asked: str) -> int:
    found = re.fullmatch(r"bytes=(\d+)-", asked)
    assert found, asked
    return int(found.group(1))


async def test_a_restart_continues_the_download_where_it_stopped(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    url = media.url(f"/file/big.bin?size={LONG_SIZE}&rate={LONG_RATE}")
    await stop_mid_download(bot_api, media, start_daemon, url)
    before = media.bytes_served("big.bin")
    shown_before = percents(bot_api)
    mark = bot_api.mark()
    await start_daemon()
    call = await bot_api.wait_for_file(USER, timeout=30)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("big.bin", LONG_SIZE)
    [(_, asked, status)] = media.ranges
    had = range_start(asked)  # what had reached the disk; the rest was in the sockets
    assert 0 < had <= before
    assert status == 206
    await media.wait_streams(0)  # the server counts a response once it has ended
    assert media.bytes_served("big.bin") == before + LONG_SIZE - had  # only the rest, once more
    # The progress the user sees goes on from where it was, not from 0%.
    shown_after = percents(bot_api, mark)
    assert shown_after
    assert shown_after[0] >= shown_before[-1] > 0


async def test_a_file_that_changed_meanwhile_is_fetched_again_whole(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    url = media.url(f"/file/moving.bin?size={SIZE}&rate={RATE}")
    await stop_mid_download(bot_api, media, start_daemon, url)
    before = media.bytes_served("moving.bin")
    media.change("moving.bin")  # same URL, new content, new ETag and Last-Modified
    await start_daemon()
    call = await bot_api.wait_for_file(USER, timeout=30)
    new = MediaServer.content_name("moving.bin", 1)
    assert call.files["document"].sha256 == MediaServer.expected_sha256(new, SIZE)
    [(_, asked, status)] = media.ranges
    assert 0 < range_start(asked) <= before
    assert status == 200  # If-Range did not match: the whole new file
    await media.wait_streams(0)  # the server counts a response once it has ended
    assert media.bytes_served("moving.bin") == before + SIZE


async def test_a_file_without_validators_starts_again_from_zero(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    # Without an ETag or a Last-Modified, the bytes on disk may be of another version.
    url = media.url(f"/file/plain.bin?size={SIZE}&rate={RATE}&validators=0")
    await stop_mid_download(bot_api, media, start_daemon, url)
    before = media.bytes_served("plain.bin")
    await start_daemon()
    call = await bot_api.wait_for_file(USER, timeout=30)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("plain.bin", SIZE)
    assert not media.ranges
    await media.wait_streams(0)  # the server counts a response once it has ended
    assert media.bytes_served("plain.bin") == before + SIZE


async def test_a_restart_continues_what_yt_dlp_was_downloading(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    video = f"/file/clip.mp4?size={SIZE}&rate={RATE}&type=video/mp4"
    url = media.url(f"/page/watch?video={quote(media.url(video), safe='')}&title=Clip")
    await stop_mid_download(bot_api, media, start_daemon, url)
    before = media.bytes_served("clip.mp4")
    await start_daemon()
    call = await bot_api.wait_for_file(USER, timeout=30)
    [upload] = call.files.values()
    assert upload.sha256 == MediaServer.expected_sha256("clip.mp4", SIZE)
    [(_, asked, status)] = [r for r in media.ranges if "clip.mp4" in r[0]]
    had = range_start(asked)  # yt-dlp's .part, kept by the restart
    assert 0 < had <= before
    assert status == 206
    await media.wait_streams(0)  # the server counts a response once it has ended
    assert media.bytes_served("clip.mp4") == before + SIZE - had
