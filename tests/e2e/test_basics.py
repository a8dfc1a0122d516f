"""The daemon's foundation, end to end: commands, a direct link delivered, errors, start-up."""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import sys
from pathlib import Path

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import MAIN, Daemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

USER = 1001


async def test_start_and_help_answer(bot_api: FakeBotApi, start_daemon: StartDaemon) -> None:
    daemon = await start_daemon()
    # yt-dlp has its JavaScript runtime (YouTube's challenge) and the EJS scripts.
    line = await daemon.wait_log("ytdlp version=")
    found = re.search(r"ytdlp version=(\S+) js_runtime=deno-(\d+)\.(\d+)\.\d+ ejs=(\S+)", line)
    assert found is not None, line
    assert (int(found[2]), int(found[3])) >= (2, 3)
    assert found[1] == importlib.metadata.version("yt-dlp")
    assert found[4] == importlib.metadata.version("yt-dlp-ejs")
    bot_api.push_message(USER, "/start", first_name="Ada")
    welcome = await bot_api.wait_for_text(USER, "Hi Ada")
    assert "Send me a link" in welcome.content
    bot_api.push_message(USER, "/help")
    help_msg = await bot_api.wait_for_text(USER, "Commands")
    assert "/cancel" in help_msg.content


async def test_text_that_is_not_a_link_is_explained(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, "hello there")
    reply = await bot_api.wait_for_text(USER, "Send me a link")
    assert "http" in reply.content
    await daemon.wait_log("not_a_link")


async def test_direct_link_is_delivered_intact(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon()
    size = 3 * 1024 * 1024 + 17
    bot_api.push_message(USER, media.url(f"/file/report.pdf?size={size}&type=application/pdf"))
    call = await bot_api.wait_for_file(USER)
    assert call.method == "sendDocument"
    uploaded = next(iter(call.files.values()))
    assert uploaded.sha256 == MediaServer.expected_sha256("report.pdf", size)
    assert uploaded.filename == "report.pdf"
    # The status message goes away and the local copy is removed.
    await daemon.wait_log("job_end id=1 outcome=delivered")
    assert [m.kind for m in bot_api.chat(USER)] == ["document"]  # the status message is gone
    assert not any((data_dir / "jobs").glob("*/*"))


async def test_failed_links_say_what_went_wrong(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon(MAX_FILE_SIZE_MB="1")
    bot_api.push_message(USER, media.url("/file/gone.bin?size=10&status=404"))
    await bot_api.wait_for_text(USER, "error 404")
    bot_api.push_message(USER, media.url("/file/big.bin?size=3000000"))
    await bot_api.wait_for_text(USER, "too large")
    # No Content-Length: the limit is enforced while streaming and the partial file deleted.
    bot_api.push_message(USER, media.url("/file/big2.bin?size=3000000&nolength=1"))
    await bot_api.wait_for_text(USER, "The file is too large. This bot sends files up to 1 MB.")
    bot_api.push_message(USER, "http://127.0.0.1:1/refused.bin")
    await bot_api.wait_for_text(USER, "could not be reached")
    await daemon.wait_log("job_end id=4 ")
    assert not any((data_dir / "jobs").glob("*/*"))


async def test_a_slow_download_never_delays_another_user(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    bot_api.push_message(USER, media.url("/file/slow.bin?size=2000000&rate=200000"))
    await bot_api.wait_for_text(USER, "Downloading")
    bot_api.push_message(2002, "/start")
    await bot_api.wait_for_text(2002, "Hi")
    # Answered while the 10 s download still streams: not queued behind it.
    assert media.active_streams == 1
    assert not bot_api.sent_files(USER)
    await bot_api.wait_for_file(USER)


async def test_sigterm_stops_cleanly(start_daemon: StartDaemon) -> None:
    daemon = await start_daemon()
    daemon.signal()
    assert await daemon.wait_exit(10) == 0
    assert "stopped" in daemon.output


async def test_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(MAIN),
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert err.decode().strip().splitlines() == ["config error: BOT_TOKEN is required but not set"]


async def test_malformed_setting_names_it(bot_api: FakeBotApi, tmp_path: Path) -> None:
    daemon = Daemon({"BOT_TOKEN": bot_api.token, "DOWNLOAD_WORKERS": "many"}, cwd=tmp_path)
    await daemon.start()
    assert await daemon.wait_exit(10) == 2
    assert daemon.lines == [
        "config error: DOWNLOAD_WORKERS: Input should be a valid integer, unable to parse string"
        " as an integer"
    ]


async def test_token_never_logged(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(LOG_LEVEL="DEBUG")
    bot_api.push_message(USER, media.url("/file/a.bin?size=1000"))
    await bot_api.wait_for_file(USER)
    await daemon.stop()
    secret = bot_api.token.split(":", 1)[1]
    assert secret not in daemon.output
