"""A media server that gives each client *process* the same bandwidth, as if each worker sat
on its own machine behind its own link: all of one worker's downloads share one rate.

Which process asked is read from the kernel: the request's source port names a socket in
/proc/net/tcp, whose inode is one of a known process's open files. Routes:
`GET /file/{name}?size=N` (the deterministic bytes of tests/fakes/content.py, so the fake
Bot API's sha256 can be checked against MediaServer.expected_sha256).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from tests.fakes.content import Content

CHUNK = 64 * 1024
log = logging.getLogger(__name__)


class Bucket:
    """One client process's link: chunks pass at `rate` bytes per second, in turn."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._free_at = 0.0

    async def take(self, size: int) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._free_at)
        self._free_at = start + size / self._rate
        if self._free_at > now:
            await asyncio.sleep(self._free_at - now)


def _inode_of_port(port: int, server_port: int) -> str | None:
    """The inode of the live socket whose local port is `port` and whose peer is this server.

    Matching the local port alone is not enough on a busy machine: an old connection of some
    other process on the same port lingers in TIME_WAIT with inode 0 and may come first.
    """
    local, remote = f":{port:04X}", f":{server_port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with Path(table).open() as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[1].endswith(local) and fields[2].endswith(remote) and fields[9] != "0":
                    return fields[9]
    return None


def owner_of(port: int, server_port: int, pids: Iterable[int]) -> int | None:
    """Which of `pids` has the local TCP socket bound to `port`, connected to `server_port`,
    open."""
    inode = _inode_of_port(port, server_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            links = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for link in links:
            try:
                if str(link.readlink()) == target:
                    return pid
            except OSError:
                continue
    return None


class ThrottledMedia:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.pids: set[int] = set()
        self.bytes_by_pid: dict[int, int] = {}
        self.unknown = 0  # requests from a process not in `pids` (the front must make none)
        self._buckets: dict[int, Bucket] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/file/{name}", self._file)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _file(self, request: web.Request) -> web.StreamResponse:
        size = int(request.query.get("size", CHUNK))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        pid = None
        if peer is not None:
            pid = await asyncio.to_thread(owner_of, int(peer[1]), self.port, sorted(self.pids))
        if pid is None:
            self.unknown += 1
            log.warning("throttle_unknown_client port=%s", peer[1] if peer else None)
            return web.Response(status=403, text="unknown client process")
        bucket = self._buckets.setdefault(pid, Bucket(self.rate))
        content = Content(request.match_info["name"])
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = size
        await response.prepare(request)
        position = 0
        while position < size:
            piece = content.read(position, min(CHUNK, size - position))
            await bucket.take(len(piece))
            await response.write(piece)
            position += len(piece)
            self.bytes_by_pid[pid] = self.bytes_by_pid.get(pid, 0) + len(piece)
        await response.write_eof()
        return response
