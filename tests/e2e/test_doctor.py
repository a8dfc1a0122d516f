"""`python main.py doctor` against the fake Bot API: one line per check, exit 0 unless one
fails (a cookies file that is not Netscape, a token the Bot API refuses)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.daemon import MAIN
from tests.fakes.bot_api import FakeBotApi

LINE = re.compile(r"^(ok|warn|fail) [a-z_]+( .*)?$")


async def doctor(env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(MAIN), "doctor"],
            env={"PATH": "/usr/bin:/bin", **env},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = await asyncio.to_thread(run)
    return done.returncode, done.stdout.splitlines()


async def test_doctor_on_a_fresh_install_and_with_problems(
    bot_api: FakeBotApi, data_dir: Path, tmp_path: Path
) -> None:
    empty_index = tmp_path / "index"
    empty_index.mkdir()
    env = {
        "BOT_TOKEN": bot_api.token,
        "TELEGRAM_API_URL": bot_api.url,
        "DATA_DIR": str(data_dir),
        # No package index here: the newest yt-dlp cannot be asked (a warning, not a failure).
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(empty_index),
    }
    code, lines = await doctor(env, tmp_path)
    assert code == 0, lines
    assert all(LINE.match(line) for line in lines), lines
    checks = {line.split()[1]: line.split()[0] for line in lines}
    assert checks == {
        "settings": "ok",
        "data_dir": "ok",
        "database": "ok",
        "ffmpeg": "ok",
        "ffprobe": "ok",
        "ytdlp": "ok",
        "ytdlp_index": "warn",
        "js_runtime": "ok",
        "ejs": "ok",
        "cookies": "ok",
        "pdf_browser": "ok",
        "pot_provider": "ok",
        "bot_api": "ok",
        "mtproto": "ok",
        "queue": "ok",
    }
    assert any(
        re.match(r"ok js_runtime deno-2\.\d+\.\d+ path=\S+ ran a script$", x) for x in lines
    )
    assert "ok bot_api http://127.0.0.1" in "\n".join(lines)
    assert any(re.match(r"ok pdf_browser Chromium \d+\S* path=\S+ playwright=", x) for x in lines)
    assert bot_api.token not in "\n".join(lines)

    cookies = data_dir / "cookies"
    cookies.mkdir(parents=True)
    (cookies / "old.com.txt").write_text(".old.com\tTRUE\t/\tTRUE\t1000000000\tSID\tx\n")
    (cookies / "junk.txt").write_text("not cookies\n")
    code, lines = await doctor({**env, "BOT_TOKEN": "999:WRONG"}, tmp_path)
    assert code == 1
    text = "\n".join(lines)
    assert "warn cookies old.com.txt sites=old.com cookies=1 expires=2001-09-09 (expired)" in text
    assert f"fail cookies {cookies / 'junk.txt'} is not a Netscape cookies file" in text
    assert "fail bot_api" in text
    assert "BOT_TOKEN was rejected" in text


async def test_doctor_names_a_bad_setting(tmp_path: Path) -> None:
    code, lines = await doctor({"BOT_TOKEN": "1:x", "MAX_FILE_SIZE_MB": "lots"}, tmp_path)
    assert code == 1
    [line] = lines
    assert line.startswith("fail settings config error: MAX_FILE_SIZE_MB: Input should be")
