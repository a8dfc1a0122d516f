"""update-ytdlp against a package index on disk: a newer yt-dlp that passes its self-test is
used from the next start (and a page link still arrives), one whose guard hook is missing
changes nothing, and --rollback goes back."""

from __future__ import annotations

import asyncio
import importlib.metadata
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
import yt_dlp

from bot.ops.stop import RESTART_CODE
from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import MAIN
from tests.e2e.test_operations import NotifySocket
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer
from tests.fakes.wheels import make_wheel

USER, ADMIN = 1001, 9001
INSTALLED = importlib.metadata.version("yt-dlp")


@pytest.fixture
async def notify(tmp_path: Path) -> AsyncIterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    sock.start()
    yield sock
    sock.close()


def real_ytdlp(version: str, index: Path) -> None:
    """This yt-dlp's code under another version number: it passes the self-test."""
    root = Path(yt_dlp.__file__).parent
    files = {f"yt_dlp/{p.relative_to(root)}": p.read_bytes() for p in root.rglob("*.py")}
    make_wheel(index, "yt-dlp", version, files)


def broken_ytdlp(version: str, index: Path) -> None:
    """A yt-dlp whose internals moved: the guard's hooks are not there."""
    files = {
        "yt_dlp/__init__.py": b"class YoutubeDL:\n    pass\n",
        "yt_dlp/version.py": f"__version__ = {version!r}\n".encode(),
    }
    make_wheel(index, "yt-dlp", version, files)


async def update(data_dir: Path, index: Path, *args: str) -> tuple[int, str]:
    env = {
        "BOT_TOKEN": "123:TEST",
        "DATA_DIR": str(data_dir),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(index),
        "PIP_NO_COMPILE": "1",  # bytecode is written at the first import anyway
        "PATH": "/usr/bin:/bin",
    }

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(MAIN), "update-ytdlp", *args],
            env=env,
            cwd=data_dir.parent,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    done = await asyncio.to_thread(run)
    return done.returncode, done.stdout.strip()


async def test_an_update_is_tested_used_from_the_next_start_and_rolled_back(
    bot_api: FakeBotApi,
    media: MediaServer,
    start_daemon: StartDaemon,
    data_dir: Path,
    tmp_path: Path,
    notify: NotifySocket,
) -> None:
    index = tmp_path / "index"
    real_ytdlp("2099.1.1", index)
    assert await update(data_dir, index) == (0, f"updated from={INSTALLED} to=2099.1.1")
    assert await update(data_dir, index) == (0, "already_newest version=2099.1.1")

    broken_ytdlp("2099.2.1", index)
    code, said = await update(data_dir, index)
    assert code == 1
    assert said.startswith("self_test_failed version=2099.2.1 check=guard_hooks ")
    assert sorted(p.name for p in (data_dir / "ytdlp").iterdir() if p.is_dir()) == ["2099.1.1"]

    daemon = await start_daemon()
    await daemon.wait_log("ytdlp version=2099.1.1 js_runtime=deno-")
    video = media.url("/file/clip.mp4?size=30000&type=video/mp4")
    bot_api.push_message(USER, media.url(f"/page/watch?video={quote(video, safe='')}"))
    await bot_api.wait_for_file(USER)
    await daemon.stop()

    assert await update(data_dir, index, "--rollback") == (
        0,
        f"rolled_back from=2099.1.1 to={INSTALLED}",
    )
    assert await update(data_dir, index, "--rollback") == (1, "nothing_to_roll_back")

    # The admin panel's button, under systemd: updated, tested, and the daemon restarts.
    (index / "yt_dlp-2099.2.1-py3-none-any.whl").unlink()
    daemon = await start_daemon(
        ADMIN_IDS=str(ADMIN),
        NOTIFY_SOCKET=str(notify.path),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(index),
        PIP_NO_COMPILE="1",
    )
    await daemon.wait_log(f"ytdlp version={INSTALLED} js_runtime=deno-")
    bot_api.push_message(ADMIN, "/admin")
    panel = await bot_api.wait_for_text(ADMIN, "Statistics")
    bot_api.push_callback(ADMIN, panel.message_id, "adm:ytdlp")
    page = await bot_api.wait_for_text(ADMIN, f"In use: {INSTALLED} (installed with the code)")
    bot_api.push_callback(ADMIN, page.message_id, "adm:ytup")
    done = await bot_api.wait_for_text(ADMIN, "yt-dlp updated", timeout=120)
    assert f"from {INSTALLED} to 2099.1.1" in done.content
    assert "restarts now" in done.content
    assert await daemon.wait_exit(20) == RESTART_CODE
    await daemon.wait_log("stopped reason=ytdlp_updated code=75")
    daemon = await start_daemon()
    await daemon.wait_log("ytdlp version=2099.1.1 js_runtime=deno-")
