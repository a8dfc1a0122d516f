"""yt-dlp updates from inside the daemon: the daily check (YTDLP_UPDATE=notify tells the admins
a newer one exists, auto installs it) and the admin panel's button. The update itself is
`python main.py update-ytdlp` run as a child process with a deadline (the same code, staging
and self-test as from a shell); once it has switched, the daemon restarts into it when systemd
is there to bring it back, and otherwise says it is used from the next start."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from telegram.ext import Application

from bot.config.settings import YtdlpUpdate
from bot.config.ytdlp_stage import version_key
from bot.i18n import N_, Translator
from bot.upgrade import pip
from bot.upgrade.stage import current_version

log = logging.getLogger(__name__)

UPDATE_TIMEOUT_S = 20 * 60.0
CHECK_JOB = "daily-ytdlp-check"
MAIN = Path(__file__).resolve().parents[2] / "main.py"

NEWER = N_(
    "⬆️ yt-dlp {new} is out; this bot runs {old}. Update it with /admin → yt-dlp → Update, or"
    " `python main.py update-ytdlp` on the server."
)
UPDATED = N_("✅ yt-dlp updated from {old} to {new}; its self-test passed.")
RESTARTING = N_("The bot restarts now to use it.")
NEXT_START = N_("It is used from the next start of the bot.")
NEWEST = N_("✅ yt-dlp {version} is the newest.")
FAILED = N_("❌ The yt-dlp update failed, and nothing changed: {why}")


class AdminSender(Protocol):
    async def send(self, chat_id: int, text: str) -> None: ...


class YtdlpUpdates:
    """Owns the update child process and the task waiting for it (one at a time)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        mode: YtdlpUpdate,
        admins: tuple[int, ...],
        sender: AdminSender,
        translator_of: Callable[[int], Awaitable[Translator]],
        restart: Callable[[], None] | None,
    ) -> None:
        self._data_dir = data_dir
        self.mode = mode
        self._admins = admins
        self._sender = sender
        self._translator_of = translator_of
        self._restart = restart  # None: no systemd to start the daemon again
        self._task: asyncio.Task[None] | None = None
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, asked_by: tuple[int, ...]) -> bool:
        """Run an update now (the admin's button); False when one is running already."""
        if self.running:
            return False
        self._task = asyncio.create_task(self._update(asked_by), name="ytdlp-update")
        return True

    async def daily(self) -> None:
        """The daily check: never raises (a failure is a log line)."""
        try:
            old = await asyncio.to_thread(current_version, self._data_dir)
            new = await pip.newest_version_async()
        except Exception:  # the daily job's boundary: a check must not fail it
            log.exception("ytdlp_check_failed")
            return
        log.info("ytdlp_check current=%s newest=%s mode=%s", old, new, self.mode)
        if old is not None and version_key(new) <= version_key(old):
            return
        if self.mode is YtdlpUpdate.AUTO:
            self.start(self._admins)
        else:
            await self._tell(self._admins, lambda tr: tr(NEWER, new=new, old=old or "?"))

    async def _update(self, admins: tuple[int, ...]) -> None:
        code, line = await self._run_update()
        log.info("ytdlp_update code=%d result=%s", code, line)
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if line.startswith("updated "):
            restart = self._restart
            after = RESTARTING if restart is not None else NEXT_START
            await self._tell(
                admins,
                lambda tr: tr(UPDATED, old=fields["from"], new=fields["to"]) + " " + tr(after),
            )
            if restart is not None:
                restart()
        elif line.startswith("already_newest"):
            await self._tell(admins, lambda tr: tr(NEWEST, version=fields.get("version", "?")))
        else:
            await self._tell(admins, lambda tr: tr(FAILED, why=html.escape(line or str(code))))

    async def _run_update(self) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(MAIN),
            "update-ytdlp",
            stdout=asyncio.subprocess.PIPE,  # its one line; its log goes to ours (stderr)
        )
        self._proc = proc
        try:
            async with asyncio.timeout(UPDATE_TIMEOUT_S):
                out, _ = await proc.communicate()
        except TimeoutError:
            _kill(proc)
            await proc.wait()
            return 124, f"update_failed error=no result within {UPDATE_TIMEOUT_S:.0f} s"
        finally:
            self._proc = None
        lines = out.decode(errors="replace").strip().splitlines()
        return proc.returncode or 0, lines[-1] if lines else ""

    async def _tell(self, admins: tuple[int, ...], text: Callable[[Translator], str]) -> None:
        for admin in admins:
            try:
                await self._sender.send(admin, text(await self._translator_of(admin)))
            except Exception:  # one admin's chat must not keep the others from hearing
                log.exception("ytdlp_notice_failed admin=%d", admin)

    async def close(self) -> None:
        """The daemon stops: an update under way is stopped (its stage stays unused)."""
        if self._proc is not None:
            _kill(self._proc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def schedule_check(
    app: Application[Any, Any, Any, Any, Any, Any],
    updates: YtdlpUpdates,
    at: dt.time,
    zone: dt.tzinfo,
) -> None:
    """Daily at DAILY_JOB_TIME, unless YTDLP_UPDATE=off."""
    if updates.mode is YtdlpUpdate.OFF or app.job_queue is None:
        return

    async def check(_ctx: object) -> None:
        await updates.daily()

    app.job_queue.run_daily(check, time=at.replace(tzinfo=zone), name=CHECK_JOB)
