"""A real redis-server for the tests of QUEUE_URL: started by the test on 127.0.0.1 and a free
port, its data in the test's folder (append-only file, so a restart keeps it), stopped after.

Never a mock and never a server the machine happens to run: `make test` installs
redis-server with apt.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from pathlib import Path
from types import TracebackType
from typing import Self

READY = "Ready to accept connections"
START_TRIES = 5  # another process may take the free port before redis-server binds it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.lines: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        """Start on a free port (the same one again after `stop`); returns once it serves."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: `make test` installs it")
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(START_TRIES if not self.port else 1):
            port = self.port or free_port()
            if await self._launch(binary, port):
                self.port = port
                return
        raise RuntimeError("redis-server did not start:\n" + "\n".join(self.lines[-20:]))

    async def _launch(self, binary: str, port: int) -> bool:
        self._proc = await asyncio.create_subprocess_exec(
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--daemonize", "no",
            "--logfile", "",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert self._proc.stdout is not None
        async with asyncio.timeout(15):
            async for raw in self._proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                self.lines.append(line)
                if READY in line:
                    self._drain = asyncio.create_task(self._read_rest())
                    return True
        await self._proc.wait()
        return False

    async def _read_rest(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())

    async def stop(self) -> None:
        """A clean shutdown (SIGTERM): Redis keeps its data for the next start."""
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
