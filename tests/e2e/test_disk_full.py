"""A full disk is said plainly to the user and loudly to the operator."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import StartDaemon
from tests.e2e.mounts import tmpfs
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

USER = 5501


async def test_a_download_that_fills_the_disk(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    with tmpfs(data_dir / "jobs", "size=512k"):  # downloads in progress live here
        daemon = await start_daemon()
        bot_api.push_message(USER, media.url("/file/big.bin?size=2000000"))
        await bot_api.wait_for_text(USER, "❌ The server is out of disk space.")
        line = await daemon.wait_log("disk_full id=1")
        assert " ERROR " in line
        assert f"data_dir={data_dir}" in line
        await daemon.wait_log("job_end id=1 ")
        assert not any((data_dir / "jobs").iterdir())
        bot_api.push_message(USER, "/start")  # and the bot carries on
        await bot_api.wait_for_text(USER, "Hi")
        await daemon.stop()
