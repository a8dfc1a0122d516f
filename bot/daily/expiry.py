"""The daily job: tell admins which links expire soon, purge what expired, sweep stale files."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from bot.config.settings import Settings
from bot.daily.notice import UserLinks, expiry_notice, split_blocks
from bot.daily.problems import Problem, cause_of, refusal_cause
from bot.daily.sweep import sweep_stale
from bot.i18n import N_, Translator
from bot.store.cache import CacheRepo
from bot.store.jobs import JobRepo
from bot.store.links import LinkRecord, LinkRepo
from bot.store.meta import MetaRepo
from bot.store.users import UserRepo

log = logging.getLogger(__name__)
T = TypeVar("T")

LAST_RUN_KEY = "daily_job_last_run"

# The parts of a run, named for the admins' report of what failed.
NOTICE = N_("sending the expiry notice")
PURGE_LINKS = N_("purging expired links")
PURGE_JOBS = N_("purging finished jobs")
PURGE_CACHE = N_("purging old files from the cache")
SWEEP = N_("removing stale files")
WHOLE_RUN = N_("the daily job")
NOTIFY_ADMIN = N_("notifying admin {admin}")
UNREACHABLE = N_("could not notify admin {admin}")


class SendError(Exception):
    """A message could not be delivered to a chat (blocked the bot, chat not found, ...)."""


class NoticeSender(Protocol):
    async def send(self, chat_id: int, text: str) -> None:
        """Send an HTML message; raises SendError when Telegram refuses it."""
        ...


@dataclass(frozen=True, slots=True)
class ExpiryConfig:
    admin_ids: tuple[int, ...]
    retention: dt.timedelta
    notice_window: dt.timedelta
    daily_time: dt.time  # naive: a wall-clock time in `zone`
    zone: ZoneInfo
    jobs_dir: Path  # DATA_DIR/jobs: one folder per job, named by its id
    stale_after: dt.timedelta = dt.timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> ExpiryConfig:
        return cls(
            admin_ids=tuple(sorted(settings.admin_ids)),
            retention=dt.timedelta(days=settings.link_retention_days),
            notice_window=dt.timedelta(hours=settings.expiry_notice_hours),
            daily_time=settings.daily_job_time.replace(tzinfo=None),
            zone=settings.zone,
            jobs_dir=settings.data_dir / "jobs",
        )


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one run did, for the log and for tests."""

    noticed: int = 0
    notified: tuple[int, ...] = ()
    purged_links: int = 0
    purged_jobs: int = 0
    purged_cache: int = 0
    removed_files: int = 0
    problems: tuple[Problem, ...] = ()


@dataclass
class _Run:
    """The mutable tally of one run in progress."""

    reached: set[int] = field(default_factory=set)
    unreachable: set[int] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def fail(self, what: str, exc: BaseException, admin: int | None = None) -> None:
        self.problems.append(Problem(what, cause_of(exc), admin))


class ExpiryService:
    """Everything the daily job does, driven by an injectable clock so tests never sleep."""

    def __init__(
        self,
        *,
        config: ExpiryConfig,
        links: LinkRepo,
        users: UserRepo,
        jobs: JobRepo,
        cache: CacheRepo,
        meta: MetaRepo,
        sender: NoticeSender,
        translator: Callable[[str | None], Translator],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._cfg = config
        self._links = links
        self._users = users
        self._jobs = jobs
        self._cache = cache
        self._meta = meta
        self._sender = sender
        self._translator = translator
        self._clock = clock
        self._lock = asyncio.Lock()  # the scheduled run and the catch-up never overlap

    # --- schedule --------------------------------------------------------------------------

    def last_scheduled(self, now: dt.datetime) -> dt.datetime:
        """The latest scheduled run time at or before `now`."""
        local = now.astimezone(self._cfg.zone)
        at = dt.datetime.combine(local.date(), self._cfg.daily_time, tzinfo=self._cfg.zone)
        if at > now:
            at = dt.datetime.combine(
                local.date() - dt.timedelta(days=1), self._cfg.daily_time, tzinfo=self._cfg.zone
            )
        return at.astimezone(dt.UTC)

    def next_scheduled(self, now: dt.datetime) -> dt.datetime:
        local = self.last_scheduled(now).astimezone(self._cfg.zone)
        following = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), self._cfg.daily_time, tzinfo=self._cfg.zone
        )
        return following.astimezone(dt.UTC)

    async def last_run(self) -> dt.datetime | None:
        value = await self._meta.get(LAST_RUN_KEY)
        return None if value is None else dt.datetime.fromisoformat(value)

    async def catch_up(self) -> RunReport | None:
        """Run now if a scheduled run was missed (the bot was down); None when none was."""
        async with self._lock:
            now = self._clock()
            last = await self._guarded_last_run()
            due = self.last_scheduled(now)
            if last is not None and last >= due:
                log.info("daily_job_not_due last=%s due=%s", last.isoformat(), due.isoformat())
                return None
            log.info("daily_job_catch_up missed=%s", due.isoformat())
            return await self._run_guarded()

    async def run(self) -> RunReport:
        """The scheduled run. Never raises: failures are logged and reported to admins."""
        async with self._lock:
            return await self._run_guarded()

    async def schedule(self) -> tuple[dt.datetime | None, dt.datetime]:
        """The last run (None: never) and the next scheduled one."""
        return await self.last_run(), self.next_scheduled(self._clock())

    async def preview(self, tr: Translator) -> list[str]:
        """The notice of every link purged within the window from now, noticed already or not
        (what an admin asking wants to know); marks nothing. Empty when nothing expires."""
        links = await self._links.expiring(self._notice_cut(self._clock()), include_noticed=True)
        return await self._render(tr, links) if links else []

    @property
    def window_hours(self) -> int:
        return int(self._cfg.notice_window.total_seconds() // 3600)

    # --- the run ---------------------------------------------------------------------------

    async def _guarded_last_run(self) -> dt.datetime | None:
        try:
            return await self.last_run()
        except Exception:  # daily job boundary: a bad stored value means "run now"
            log.exception("daily_job_last_run_unreadable")
            return None

    async def _run_guarded(self) -> RunReport:
        state = _Run()
        try:
            return await self._run(state)
        except Exception as exc:  # daily job boundary: never let it take the bot down
            log.exception("daily_job_failed")
            state.fail(WHOLE_RUN, exc)
            await self._report(state)
            return RunReport(problems=tuple(state.problems))

    async def _run(self, state: _Run) -> RunReport:
        now = self._clock()
        began = time.monotonic()
        log.info("daily_job_start now=%s", now.isoformat())
        cut = now - self._cfg.retention
        noticed = await self._step(state, NOTICE, self._notify(now, state), 0)
        # Each purge goes a batch at a time (store/batches.py): users' statements run between.
        purged_links = await self._step(state, PURGE_LINKS, self._links.purge(cut), 0)
        purged_jobs = await self._step(state, PURGE_JOBS, self._jobs.purge_finished(cut), 0)
        purged_cache = await self._step(state, PURGE_CACHE, self._cache.purge(cut), 0)
        removed = await self._step(state, SWEEP, self._sweep(now), 0)
        await self._meta.set(LAST_RUN_KEY, now.isoformat())
        await self._report(state)
        report = RunReport(
            noticed=noticed,
            notified=tuple(sorted(state.reached)),
            purged_links=purged_links,
            purged_jobs=purged_jobs,
            purged_cache=purged_cache,
            removed_files=removed,
            problems=tuple(state.problems),
        )
        log.info(
            "daily_job_done noticed=%d admins=%d purged_links=%d purged_jobs=%d"
            " purged_cache=%d removed=%d problems=%d seconds=%.1f",
            report.noticed,
            len(report.notified),
            report.purged_links,
            report.purged_jobs,
            report.purged_cache,
            report.removed_files,
            len(report.problems),
            time.monotonic() - began,
        )
        return report

    async def _step(
        self, state: _Run, what: str, work: Awaitable[T], fallback: T, admin: int | None = None
    ) -> T:
        """One part of the run; its failure is logged and reported, and the run goes on."""
        began = time.monotonic()
        try:
            done = await work
        except Exception as exc:  # daily job boundary: one failing part must not stop the rest
            log.exception("daily_job_step_failed step=%r admin=%s", what, admin)
            state.fail(what, exc, admin)
            return fallback
        log.info("daily_job_step step=%r seconds=%.2f", what, time.monotonic() - began)
        return done

    def _notice_cut(self, now: dt.datetime) -> dt.datetime:
        """Links created before this are purged within the notice window."""
        return now + self._cfg.notice_window - self._cfg.retention

    async def _notify(self, now: dt.datetime, state: _Run) -> int:
        links = await self._links.expiring(self._notice_cut(now))
        if not links or not self._cfg.admin_ids:
            return 0
        for admin in self._cfg.admin_ids:
            tr = await self._admin_translator(admin)
            parts = await self._render(tr, links)
            await self._step(state, NOTIFY_ADMIN, self._deliver(admin, parts, state), None, admin)
        if not state.reached:
            log.warning("expiry_notice_undelivered links=%d", len(links))
            return 0  # nobody got it: the next run tries again
        await self._links.mark_noticed([link.id for link in links])
        log.info("expiry_notice_sent links=%d admins=%d", len(links), len(state.reached))
        return len(links)

    async def _deliver(self, admin: int, parts: list[str], state: _Run) -> None:
        try:
            for part in parts:
                await self._sender.send(admin, part)
        except SendError as exc:
            log.warning("admin_unreachable admin=%d error=%s", admin, exc)
            state.unreachable.add(admin)
            state.problems.append(Problem(UNREACHABLE, refusal_cause(str(exc)), admin))
            return
        state.reached.add(admin)

    async def _render(self, tr: Translator, links: list[LinkRecord]) -> list[str]:
        users = await self._users.many({link.user_id for link in links})
        groups = [
            UserLinks(user_id, users.get(user_id), tuple(items))
            for user_id, items in groupby(links, key=lambda link: link.user_id)
        ]
        # Thousands of links a day on a busy bot: a second of formatting, kept off the loop.
        return await asyncio.to_thread(
            expiry_notice, tr, self._cfg.zone, groups, self.window_hours
        )

    async def _admin_translator(self, admin: int) -> Translator:
        record = await self._users.get(admin)
        language = record.language_override or record.language_code if record else None
        return self._translator(language)

    async def _sweep(self, now: dt.datetime) -> int:
        keep = {str(job.id) for job in await self._jobs.unfinished()}
        cutoff = (now - self._cfg.stale_after).timestamp()
        return await asyncio.to_thread(sweep_stale, self._cfg.jobs_dir, keep, cutoff)

    # --- telling the admins what went wrong ------------------------------------------------

    async def _report(self, state: _Run) -> None:
        """Tell every admin not known to be unreachable what went wrong in this run."""
        if not state.problems:
            return
        for admin in self._cfg.admin_ids:
            if admin in state.unreachable:
                continue
            try:
                tr = await self._admin_translator(admin)
                lines = ["⚠️ <b>" + html.escape(tr("The daily job had problems:")) + "</b>"]
                lines += [f"• {html.escape(p.render(tr))}" for p in state.problems]
                for part in split_blocks([lines]):
                    await self._sender.send(admin, part)
            except SendError as exc:
                log.warning("admin_report_failed admin=%d error=%s", admin, exc)
            except Exception:  # daily job boundary: the report of a failure must not fail
                log.exception("admin_report_failed admin=%d", admin)
