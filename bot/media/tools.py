"""Runs ffmpeg and ffprobe: bounded in time and output, killed on a stop, never left running.

Their memory is bounded where they start: `ffmpeg` and `ffprobe` on the daemon's PATH are the
wrappers of bot/children (CHILD_MEMORY_MB). A run that fails is logged with its step (probe,
thumbnail, cover, remux, audio, split) and, when it looks like the ceiling, says so.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STDOUT_MAX = 8 * 1024 * 1024  # ffprobe's JSON; a file with absurdly many streams is refused
STDERR_TAIL = 2000  # what is kept of a tool's complaints, for the log
_READ = 64 * 1024
# Before an input whose video is only copied: ffmpeg still decodes a frame of it to learn about
# it (avformat_find_stream_info), 340 MB for one 8192 x 8192 frame; the packets it copies are
# the same without it. Not for MPEG-TS: only a frame tells its size, which an MP4 must have.
NO_VIDEO_DECODE = ["-skip_frame:v", "all"]
# What ffmpeg says when an allocation fails (its data ceiling, bot/children), or how it dies.
_MEMORY_SIGNS = (
    "Cannot allocate memory",
    "get_buffer() failed",
    "failed to map segment",  # the loader: not even its libraries fit
    "bad_alloc",
    "out of memory",
)
_MEMORY_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGKILL})


@dataclass(frozen=True, slots=True)
class ToolRun:
    """How a tool ended: its exit status, its output, the end of what it wrote to stderr."""

    status: int
    stdout: bytes
    error: str

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def out_of_memory(self) -> bool:
        """Whether it failed the way a child past its memory ceiling fails."""
        if self.status < 0 and -self.status in _MEMORY_SIGNALS:
            return True
        return self.status != 0 and any(sign in self.error for sign in _MEMORY_SIGNS)


async def run_tool(args: list[str], limit: float | None, *, step: str) -> ToolRun | None:
    """Run a tool for `step`; None if it is missing, ran past `limit` seconds or wrote too
    much. A run that fails is logged with its step.

    A cancellation (the job stopped, its deadline passed) kills the process before it goes
    on: nothing keeps working on a job that ended.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        log.warning(
            "media_tool_missing step=%s tool=%s error=%s", step, args[0], type(exc).__name__
        )
        return None
    assert process.stdout is not None and process.stderr is not None  # noqa: S101 - PIPE
    try:
        async with asyncio.timeout(limit):
            stdout, error, status = await asyncio.gather(
                _capped(process.stdout, process), _tail(process.stderr), process.wait()
            )
    except TimeoutError:
        log.warning("media_tool_timeout step=%s tool=%s seconds=%.0f", step, args[0], limit or 0)
        return None
    finally:
        if process.returncode is None:  # timed out or cancelled: never leave it running
            process.kill()
            await process.wait()
    if stdout is None:
        log.warning("media_tool_output_too_large step=%s tool=%s", step, args[0])
        return None
    run = ToolRun(status, stdout, error)
    if run.out_of_memory:
        log.warning(
            "media_tool_memory step=%s tool=%s status=%d error=%r",
            step,
            args[0],
            status,
            _last_line(run),
        )
    elif not run.ok:
        log.info("media_tool_failed step=%s tool=%s error=%r", step, args[0], _last_line(run))
    return run


async def _capped(
    stream: asyncio.StreamReader, process: asyncio.subprocess.Process
) -> bytes | None:
    """Everything on `stream`, or None (and the process killed) past STDOUT_MAX."""
    chunks: list[bytes] = []
    held = 0
    while chunk := await stream.read(_READ):
        held += len(chunk)
        if held <= STDOUT_MAX:
            chunks.append(chunk)
        elif process.returncode is None:
            process.kill()  # the pipe is still read to its end, so the process can be reaped
    return b"".join(chunks) if held <= STDOUT_MAX else None


async def _tail(stream: asyncio.StreamReader) -> str:
    """The last STDERR_TAIL bytes on `stream`, as text."""
    tail = b""
    while chunk := await stream.read(_READ):
        tail = (tail + chunk)[-STDERR_TAIL:]
    return tail.decode(errors="replace").strip()


async def produce(
    args: list[str],
    *,
    source: Path,
    partial: Path,
    target: Path,
    limit: float,
    event: str,
    step: str,
    check: Callable[[Path], bool] | None = None,
) -> bool:
    """Run a tool that reads `source` and writes `partial` (appended to `args`); on success
    (and `check`) `partial` becomes `target` and `source` goes. On a failure or a stop,
    `partial` goes and `source` stays as it was: nothing half-written is left behind."""
    done = False
    try:
        result = await run_tool([*args, str(partial)], limit, step=step)
        ok = result is not None and result.ok
        if not ok or (check is not None and not await asyncio.to_thread(check, partial)):
            log.warning("%s_failed error=%r", event, _last_line(result))
            return False
        await asyncio.to_thread(_swap, source, partial, target)
        done = True
    finally:
        if not done:  # at once, even while a stop cancels this task: no await to be cut short
            partial.unlink(missing_ok=True)  # noqa: ASYNC240 - one unlink, microseconds
    return True


def _last_line(result: ToolRun | None) -> str:
    if result is None:
        return "did not finish"
    lines = result.error.splitlines()
    return lines[-1][:200] if lines else f"exit status {result.status}"


def _swap(source: Path, partial: Path, target: Path) -> None:
    source.unlink()
    partial.replace(target)
