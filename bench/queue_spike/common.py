"""Shared by every engine adapter of the queue spike: the stand-in job and the event log.

Stdlib only: each adapter runs in its own venv holding one queue library.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Beat = Callable[[], Awaitable[object]]


def log(**fields: object) -> None:
    """Append one event line; one small O_APPEND write, so processes never interleave."""
    fields["t"] = time.time()
    line = json.dumps(fields) + "\n"
    fd = os.open(os.environ["SPIKE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


async def body(key: str, secs: float, worker: str, beat: Beat | None = None) -> str:
    """A stand-in download: sleeps in 0.1 s steps; logs start, cancel and end."""
    log(ev="start", job=key, worker=worker, pid=os.getpid())
    last_beat = time.monotonic()
    try:
        end = time.monotonic() + secs
        while time.monotonic() < end:
            await asyncio.sleep(0.1)
            if beat is not None and time.monotonic() - last_beat >= 1.0:
                last_beat = time.monotonic()
                await beat()
    except asyncio.CancelledError:
        log(ev="cancelled", job=key, worker=worker)
        raise
    log(ev="done", job=key, worker=worker)
    return "ok"


async def front_loop(
    enqueue: Callable[[str, float], Awaitable[None]],
    abort: Callable[[str], Coroutine[Any, Any, None]],
) -> None:
    """Reads JSON commands from stdin, answers `ok`/`error`; aborts run in the background."""
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        try:
            if cmd["op"] == "enqueue":
                await enqueue(cmd["key"], cmd["secs"])
                log(ev="enqueued", job=cmd["key"])
            elif cmd["op"] == "abort":
                log(ev="abort_sent", job=cmd["key"])
                task = asyncio.create_task(abort(cmd["key"]))
                pending.add(task)
                task.add_done_callback(pending.discard)
            sys.stdout.write("ok\n")
        except Exception as exc:  # noqa: BLE001 - the front reports and stays up, as tgfetch's would
            log(ev="front_error", op=cmd["op"], error=repr(exc)[:200])
            sys.stdout.write("error\n")
        sys.stdout.flush()
