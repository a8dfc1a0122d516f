"""Process entry: settings or one clear line, logging, the event loop, the exit code."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time

from bot.config import ConfigError, load_settings
from bot.errors import StartupError
from bot.logging_setup import configure_logging

log = logging.getLogger(__name__)

THREAD_EXIT_GRACE_S = 2.0


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)  # noqa: T201 - logging is not configured yet
        return 2
    configure_logging(settings.log_level, [settings.bot_token.get_secret_value()])
    # Opt into PTB's future behaviour (retry_after as a timedelta) instead of a warning per 429.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    from bot.app import run

    try:
        code = asyncio.run(run(settings))
    except KeyboardInterrupt:
        code = 0
    except ConfigError as exc:  # a setting that only proves bad while wiring (a factory path)
        print(exc, file=sys.stderr)  # noqa: T201 - the one clear line
        return 2
    except StartupError as exc:  # DATA_DIR or the database cannot be used
        log.error("startup_failed %s", exc)  # noqa: TRY400 - one clear line, no traceback
        return 2
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
