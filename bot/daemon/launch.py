"""Process entry: settings or one clear line, logging, the event loop, the exit code.

`python main.py` is the bot (with QUEUE_URL: the front of workers); `python main.py worker` is
a download worker (QUEUE_URL required); `python main.py doctor` checks the installation, one
line per check; `python main.py update-ytdlp [--rollback]` stages and tests the newest yt-dlp
(or goes back to the previous one) for the next start.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.config.settings import ConfigError, Settings, load_settings
from bot.config.ytdlp_stage import activate
from bot.daemon.logging_setup import configure_logging
from bot.ops.heap import Heap

if TYPE_CHECKING:
    from bot.daemon.seams import Seams

log = logging.getLogger(__name__)

# Idle pool workers leave within milliseconds of their pool's shutdown; a worker still busy
# after the jobs' grace is not waited for long (its job resumes on the next start).
THREAD_EXIT_GRACE_S = 0.3


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


USAGE = "usage: python main.py [worker | doctor | update-ytdlp [--rollback]]"
COMMANDS: tuple[list[str], ...] = (
    [],
    ["worker"],
    ["doctor"],
    ["update-ytdlp"],
    ["update-ytdlp", "--rollback"],
)

Run = Callable[[Settings], Coroutine[Any, Any, int]]


def secrets_of(settings: Settings) -> list[str]:
    """What the log must never show: the token, and Redis's password."""
    secrets = [settings.bot_token.get_secret_value()]
    if settings.queue_url is not None:
        password = urlsplit(settings.queue_url.get_secret_value()).password
        if password:
            secrets.append(password)
    return secrets


def main(argv: Sequence[str] | None = None, seams: Seams | None = None) -> int:
    """`seams`: a test's own entry point puts its fakes here (bot/daemon/seams.py)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in COMMANDS:
        print(USAGE, file=sys.stderr)  # noqa: T201 - logging is not configured yet
        return 2
    if args and args[0] in ("doctor", "update-ytdlp"):
        return _command(args)
    worker = args == ["worker"]
    # Until the event loop takes them over, SIGTERM stops the process like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        settings = load_settings()
        if worker:
            _need_queue(settings)
        configure_logging(settings.log_level, secrets_of(settings))
        # Before any thread starts: glibc's arenas are made per thread (bot/ops/heap.py).
        tuned = Heap.of_this_process().tune()
        log.debug("heap_tuned %s", " ".join(tuned) or "nothing")
        # Before anything imports yt-dlp: a tested newer one staged by update-ytdlp goes first.
        activate(settings.data_dir)
        # Opt into PTB's future behaviour (retry_after as a timedelta), not a warning per 429.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        run = _worker(seams) if worker else _bot(seams)
    except ConfigError as exc:
        print(exc, file=sys.stderr)  # noqa: T201 - logging is not configured yet
        return 2
    except KeyboardInterrupt:  # stopped before anything started: nothing to undo
        return 0
    try:
        code = asyncio.run(run(settings))
    except KeyboardInterrupt:  # a signal before the event loop took signals over; run()
        code = 0  # has logged `stopped`
    return _leave(code)


def _command(args: list[str]) -> int:
    """doctor or update-ytdlp: their answer on stdout, the log on stderr."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        if args[0] == "doctor":  # the settings are its first check
            print(f"fail settings {exc}")  # noqa: T201 - the command's answer
        else:
            print(exc, file=sys.stderr)  # noqa: T201 - logging is not configured yet
        return 2 if args[0] != "doctor" else 1
    configure_logging(settings.log_level, secrets_of(settings), sys.stderr)
    if args[0] == "doctor":
        activate(settings.data_dir)  # the yt-dlp the daemon would use
        from bot.doctor.run import run_doctor

        return asyncio.run(run_doctor(settings))
    from bot.upgrade.stage import run_cli

    return run_cli(settings.data_dir, args[1:])


def _need_queue(settings: Settings) -> None:
    if settings.queue_url is None:
        raise ConfigError(
            "config error: QUEUE_URL is required for a worker (the Redis the front uses)"
        )


def _bot(seams: Seams | None) -> Run:
    from bot.daemon.app import run  # after logging and PTB's settings
    from bot.daemon.seams import Seams

    return functools.partial(run, seams=seams or Seams())


def _worker(seams: Seams | None) -> Run:
    from bot.daemon.seams import Seams
    from bot.daemon.worker import run  # after logging and PTB's settings

    return functools.partial(run, seams=seams or Seams())


def _leave(code: int) -> int:
    deadline = time.monotonic() + THREAD_EXIT_GRACE_S
    for thread in threading.enumerate():
        if thread is not threading.main_thread():  # idle pool workers leave within moments
            thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if stuck:
        # A worker blocked in a socket read would hold the interpreter's exit until it times
        # out; the jobs are persisted and resume on the next start, so leave now.
        log.warning("exit_with_threads_alive threads=%s", ",".join(stuck))
        logging.shutdown()
        os._exit(code)
    return code
