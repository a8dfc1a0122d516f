"""Cookies from Telegram (issue 23): an admin sends cookies.txt, the panel lists its sites and
expiry and removes it, yt-dlp sends the cookies to their site; a file that is not Netscape, too
large, or from anyone but an admin is refused and nothing is kept."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import quote

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

ADMIN, USER = 9001, 1001
SECRET = "s3cr3t-session-value"  # noqa: S105 - a fake cookie, to look for in logs


def netscape(domain: str, expires: int = 1893456000) -> bytes:
    lines = [
        "# Netscape HTTP Cookie File",
        f"{domain}\tFALSE\t/\tFALSE\t{expires}\tSID\t{SECRET}",
        f"#HttpOnly_{domain}\tFALSE\t/\tFALSE\t0\tHSID\tother-{SECRET}",
    ]
    return ("\n".join(lines) + "\n").encode()


async def test_an_admin_adds_lists_uses_and_removes_cookies(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon(ADMIN_IDS=str(ADMIN))
    bot_api.push_document(ADMIN, "cookies.txt", netscape("127.0.0.1"))
    saved = await bot_api.wait_for_text(ADMIN, "Cookies saved")
    assert "127.0.0.1.txt: 127.0.0.1 · 2 cookies · first expires" in saved.content
    stored = data_dir / "cookies" / "127.0.0.1.txt"
    assert stored.read_bytes() == netscape("127.0.0.1")
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    await bot_api.wait_for(lambda c: c.method == "deleteMessage" and c.chat_id == ADMIN)

    # yt-dlp sends them to their site (a page on 127.0.0.1), and to nothing else.
    video = media.url("/file/clip.mp4?size=40000&type=video/mp4")
    bot_api.push_message(USER, media.url(f"/page/watch?video={quote(video, safe='')}"))
    await bot_api.wait_for_file(USER)
    # (the bot's first look at the link, before yt-dlp's, goes without cookies)
    sent = [cookie for path, cookie in media.cookies if path == "/page/watch"]
    assert f"SID={SECRET}; HSID=other-{SECRET}" in sent

    bot_api.push_message(ADMIN, "/admin")
    panel = await bot_api.wait_for_text(ADMIN, "Statistics")
    bot_api.push_callback(ADMIN, panel.message_id, "adm:cookies")
    listed = await bot_api.wait_for_text(ADMIN, "🍪 Cookies")
    assert "127.0.0.1.txt" in listed.content
    assert "adm:ckrm:127.0.0.1.txt" in [b["callback_data"] for b in listed.buttons]
    bot_api.push_callback(ADMIN, listed.message_id, "adm:ckrm:127.0.0.1.txt")
    await bot_api.wait_for_text(ADMIN, "No cookies files yet")
    assert not stored.exists()
    everything = "\n".join(daemon.lines) + "\n".join(
        str(call.params) for call in bot_api.calls if call.method != "getUpdates"
    )
    assert SECRET not in everything  # never echoed, never logged


async def test_cookies_that_are_refused(
    bot_api: FakeBotApi, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon(ADMIN_IDS=str(ADMIN))
    bot_api.push_document(ADMIN, "notes.txt", b"just some notes\nnot cookies\n")
    await bot_api.wait_for_text(ADMIN, "not a Netscape cookies file")
    bot_api.push_document(ADMIN, "huge.txt", netscape(".youtube.com"), size=2 * 1024 * 1024)
    await bot_api.wait_for_text(ADMIN, "larger than 1 MB")
    assert len(bot_api.calls_of("downloadFile")) == 1  # the notes; the large one never came
    bot_api.push_document(USER, "cookies.txt", netscape(".youtube.com"))
    await bot_api.wait_for_text(USER, "I found no link")  # what any other document gets
    await daemon.wait_log("admin_refused user=1001")
    assert not (data_dir / "cookies").exists() or not any((data_dir / "cookies").iterdir())
