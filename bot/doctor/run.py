"""Every check in order; `run_doctor` is what `python main.py doctor` runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from bot.config.settings import Settings
from bot.doctor import local, remote
from bot.doctor.report import Check, Line, Status, run_checks

Step = Callable[[Settings], Awaitable[Sequence[Line]]]
STEPS: tuple[tuple[str, Step], ...] = (
    ("data_dir", local.data_dir),
    ("database", local.database),
    ("ffmpeg", local.ffmpeg),
    ("ytdlp", local.ytdlp),
    ("js_runtime", local.js_runtime),
    ("ejs", local.ejs),
    ("cookies", local.cookies),
    ("pdf_browser", local.pdf_browser),
    ("pot_provider", remote.pot_provider),
    ("bot_api", remote.bot_api),
    ("mtproto", remote.mtproto),
    ("queue", remote.redis),
)


async def run_doctor(settings: Settings) -> int:
    """One line per check on stdout; 0 unless one failed."""

    async def loaded() -> Sequence[Line]:
        return [Line(Status.OK, "settings", "loaded")]

    checks: list[tuple[str, Check]] = [("settings", loaded)]
    checks += [(name, partial(step, settings)) for name, step in STEPS]
    return await run_checks(checks, lambda line: print(line, flush=True))  # noqa: T201
