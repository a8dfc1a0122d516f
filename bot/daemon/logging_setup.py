"""Logging to stdout, one line per event, with the bot token scrubbed from every record."""

from __future__ import annotations

import logging
import sys
from typing import TextIO


class RedactFilter(logging.Filter):
    """Replaces secrets (the bot token) wherever they appear in a formatted record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = message
        for secret in self._secrets:
            scrubbed = scrubbed.replace(secret, "<redacted>")
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


class OneLineFilter(logging.Filter):
    """Turns a library's record with a traceback into one line that names the exception.

    python-telegram-bot logs network trouble it retries or ends on (an invalid token, a
    failed last getUpdates) with a full traceback; what an operator needs is the error. The
    traceback stays available at DEBUG, where this filter is not installed.
    """

    def __init__(self, loggers: tuple[str, ...]) -> None:
        super().__init__()
        self._prefixes = tuple(f"{name}." for name in loggers)
        self._names = loggers

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and (
            record.name in self._names or record.name.startswith(self._prefixes)
        ):
            error = record.exc_info[1]
            record.msg, record.args = f"{record.getMessage()} error={error!r}", None
            record.exc_info, record.exc_text = None, None
        return True


class RoutineFilter(logging.Filter):
    """Drops a library's line that every normal run writes and says nothing: SAQ's worker
    warns at each stop that its running jobs outlived a grace period we set to none (they are
    handed back to the queue at once, on purpose)."""

    ROUTINE = ("did not finish within the shutdown grace period",)

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "saq" and any(text in str(record.msg) for text in self.ROUTINE))


def configure_logging(level: str, secrets: list[str], stream: TextIO = sys.stdout) -> None:
    """The daemon logs to stdout (journald); a command (doctor, update-ytdlp) to stderr, its
    answer alone on stdout."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    if logging.getLevelName(level) > logging.DEBUG:
        handler.addFilter(OneLineFilter(("telegram",)))
    handler.addFilter(RedactFilter(secrets))
    handler.addFilter(RoutineFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the Bot API URL carries the token; SAQ logs
    # each job three times (ours log it once, as key=value).
    for noisy in ("httpx", "httpcore", "apscheduler", "pyrogram", "aiohttp.access", "saq"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
