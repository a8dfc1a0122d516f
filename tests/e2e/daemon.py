"""Runs the real daemon (`python main.py`) as a subprocess and follows its log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "main.py"
# The daemon sees only what a test sets, plus these: under `faketime` (LD_PRELOAD and the
# FAKETIME* variables) it shares the tests' clock. TZ is not passed on: a test that needs a
# zone sets the daemon's TZ itself.
PASSED_ON = frozenset({"PATH", "HOME", "LANG", "TMPDIR", "LD_PRELOAD", "DONT_FAKE_MONOTONIC"})


class Daemon:
    """One daemon process; its stdout is collected line by line for assertions."""

    def __init__(
        self, env: dict[str, str], cwd: Path, args: tuple[str, ...] = (), main: Path = MAIN
    ) -> None:
        self.env = env
        self.cwd = cwd
        self.args = args  # ("worker",): a download worker
        self.main = main  # another checkout's main.py, for a benchmark of before and after
        self.lines: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def start(self) -> None:
        base = {k: v for k, v in os.environ.items() if k in PASSED_ON or k.startswith("FAKETIME")}
        base["PYTHONUNBUFFERED"] = "1"
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(self.main),
            *self.args,
            cwd=self.cwd,
            env={**base, **self.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def wait_log(self, needle: str, timeout: float = 15) -> str:
        """The first log line containing `needle`, waiting for it to be written."""
        return (await self.wait_lines(needle, 1, timeout))[0]

    async def wait_lines(self, needle: str, count: int, timeout: float = 15) -> list[str]:
        """The first `count` log lines containing `needle`, waiting for them to be written."""

        def find() -> list[str] | None:
            found = [line for line in self.lines if needle in line]
            return found[:count] if len(found) >= count else None

        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    while (lines := find()) is None:
                        if self._reader is not None and self._reader.done():
                            break
                        await self._changed.wait()
            except TimeoutError:
                lines = None
        if lines is None:
            tail = "\n".join(self.lines[-30:])
            raise AssertionError(f"{count} log lines with {needle!r} not seen; log tail:\n{tail}")
        return lines

    async def wait_exit(self, timeout: float = 15) -> int:
        assert self._proc is not None
        code = await asyncio.wait_for(self._proc.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self._proc is not None
        self._proc.send_signal(sig)

    async def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM and wait; kill if it does not go. Returns the exit code."""
        if self._proc is None:
            return None
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)
            try:
                return await self.wait_exit(timeout)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
                raise
        return self._proc.returncode

    def kill(self) -> None:
        assert self._proc is not None
        self._proc.kill()
