"""A doctor's line, and running the checks in order: each prints as it ends."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but the operator should look (a newer yt-dlp, cookies expiring)
    FAIL = "fail"  # the bot cannot do its job until this is fixed


@dataclass(frozen=True, slots=True)
class Line:
    status: Status
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status} {self.check} {self.detail}".rstrip()


Check = Callable[[], Awaitable[Sequence[Line]]]


async def run_checks(checks: Sequence[tuple[str, Check]], say: Callable[[str], None]) -> int:
    """Run each check, print its lines; exit code 0 unless a line failed. A check that raises
    is a failed line of its own, and the others still run."""
    failed = False
    for name, check in checks:
        try:
            lines = await check()
        except Exception as exc:  # a check that raises is a failed line, and the rest run
            log.debug("doctor_check_failed check=%s", name, exc_info=exc)
            lines = [Line(Status.FAIL, name, f"{type(exc).__name__}: {exc}"[:300])]
        for line in lines:
            failed = failed or line.status is Status.FAIL
            say(str(line))
    return 1 if failed else 0
