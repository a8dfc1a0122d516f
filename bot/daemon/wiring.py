"""Builds the services and the resources they share (pools, HTTP clients, the database)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.access.ratelimit import RateLimiter
from bot.access.rules import Access
from bot.config.settings import Settings
from bot.daemon.children import ytdlp_children
from bot.daemon.resources import Pools, Runtime
from bot.daily.expiry import ExpiryConfig, ExpiryService
from bot.daily.sender import TelegramSender
from bot.daily.site_alerts import SiteAlerts
from bot.download.http import HttpFetcher
from bot.download.ytdlp import YtdlpFetcher
from bot.download.ytdlp_guard import JobNet, guarded_youtube_dl
from bot.handlers.context import TgApp
from bot.handlers.services import Places, Services
from bot.history.pages import History
from bot.i18n import I18n, Translator
from bot.jobs.engine import Engine, JobReport
from bot.jobs.fetch import Fetcher
from bot.jobs.manager import JobManager, Limits
from bot.jobs.outcomes import Delivered, Failed, Parked, outcome_label
from bot.jobs.pages import PageConfig, PageStage
from bot.jobs.parking import ParkPolicy
from bot.jobs.parts import PartLedger
from bot.jobs.pipeline import CacheLookup, Pipeline, PipelineConfig
from bot.jobs.record import JobRecorder
from bot.jobs.run import Deliverer
from bot.jobs.stream_through import StreamSender
from bot.media.prepare import prepare
from bot.ops.heap import Heap, QuietTrim
from bot.ops.metrics import Metrics
from bot.presenter.presenter import PresenterConfig, Presenters
from bot.store.cache import CacheRepo
from bot.store.jobs import JobRepo
from bot.store.links import LinkRepo
from bot.store.meta import MetaRepo
from bot.store.outcomes import OutcomeRepo
from bot.store.parts import PartRepo
from bot.store.stats import StatsRepo
from bot.store.users import UserRepo
from bot.telegram_io.lanes import Lanes
from bot.telegram_io.ui import TelegramChatUI
from bot.upgrade.service import YtdlpUpdates
from bot.upload.botapi import BotApiUploader
from bot.upload.deliver import RouteDeliverer
from bot.upload.mtproto import MtprotoUploader
from bot.upload.streaming import StreamingUploader

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_services(
    settings: Settings,
    app: TgApp,
    rt: Runtime,
    metrics: Metrics,
    lanes: Lanes,
    restart: Callable[[], None] | None = None,
) -> Services:
    """`restart`: how the daemon stops to start again with a new yt-dlp (None: it cannot)."""
    i18n = I18n()
    jobs_repo = JobRepo(rt.db, utc_now)
    links_repo = LinkRepo(rt.db, utc_now)
    cache = CacheRepo(rt.db)
    botapi = BotApiUploader(
        app.bot,
        local_mode=settings.bot_api_local_mode,
        answer_timeout=settings.bot_api_timeout_seconds,
    )
    mtproto = None
    if settings.mtproto_enabled and rt.queue is None:  # a front uploads nothing of its own
        mtproto = MtprotoUploader(rt.seams.mtproto(settings))
    deliverer = RouteDeliverer(botapi, mtproto, settings.bot_api_upload_limit)
    outcomes = OutcomeRepo(rt.db, utc_now)
    limits = Limits(
        workers=settings.download_workers,
        per_user=settings.max_jobs_per_user,
        max_queued=settings.max_queued_jobs,
        park_hours=settings.park_retry_hours,
    )
    observers = Presenters(
        TelegramChatUI(app.bot),
        lanes,
        i18n.get,
        jobs_repo.remember,
        PresenterConfig(offer_pdf=settings.pdf_pages),
    )
    users = UserRepo(rt.db, utc_now)
    alerts = SiteAlerts(
        admins=tuple(sorted(settings.admin_ids)),
        sender=TelegramSender(app.bot, lanes),
        translator_of=lambda admin: translator_of(users, i18n, admin),
        clock=utc_now,
    )

    def on_outcome(report: JobReport) -> None:
        record_job(metrics, report)
        outcome = report.outcome
        failure = outcome.failure if isinstance(outcome, Parked) else outcome
        if isinstance(failure, Failed):
            alerts.seen(failure.reason, report.url)

    jobs: Engine
    if rt.queue is None:
        jobs = JobManager(
            limits=limits,
            repo=jobs_repo,
            outcomes=outcomes,
            pipeline=build_pipeline(
                settings,
                rt.pools,
                deliverer=deliverer,
                cache=cache,
                records=outcomes,
                parts=PartRepo(rt.db, utc_now),
                i18n=i18n,
                streamer=streaming_uploader(settings, app, lanes),
            ),
            observers=observers,
            on_outcome=on_outcome,
            on_idle=QuietTrim(Heap.of_this_process().trim),
        )
    else:
        # The front: it answers cached links itself and sends every other job to a worker.
        from bot.remote.front import RemoteEngine  # redis, saq: QUEUE_URL only
        from bot.remote.intake import FrontStores
        from bot.remote.nofetch import NoFetch

        pipeline = Pipeline(
            config=pipeline_config(settings),
            fetcher=NoFetch(settings.max_file_size),
            postprocess=prepare,
            deliverer=deliverer,
            cache=cache,
            records=outcomes,
            parts=PartRepo(rt.db, utc_now),  # the parts of a cached file it resends
            translator=i18n.get,
        )
        jobs = RemoteEngine(
            limits=limits,
            stores=FrontStores(rt.db, jobs_repo, links_repo, outcomes, cache),
            pipeline=pipeline,
            queue=rt.queue.queue,
            client=rt.queue.client,
            probe=rt.queue.probe,
            tuning=rt.queue.tuning,
            observers=observers,
            wall_clock=utc_now,
            on_outcome=on_outcome,
        )
    expiry = ExpiryService(
        config=ExpiryConfig.from_settings(settings),
        links=links_repo,
        users=users,
        jobs=jobs_repo,
        cache=cache,
        meta=MetaRepo(rt.db),
        sender=TelegramSender(app.bot, lanes),
        translator=i18n.get,
        clock=utc_now,
    )
    return Services(
        settings=settings,
        i18n=i18n,
        users=users,
        links=links_repo,
        jobs=jobs,
        mtproto=mtproto,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        access=Access(settings.admin_ids, settings.allowed_users),
        history=History(links_repo, jobs_repo),
        stats=StatsRepo(
            rt.db, utc_now, settings.zone, dt.timedelta(days=settings.link_retention_days)
        ),
        expiry=expiry,
        alerts=alerts,
        cookies=rt.pools.cookies,
        updates=YtdlpUpdates(
            data_dir=settings.data_dir,
            mode=settings.ytdlp_update,
            admins=tuple(sorted(settings.admin_ids)),
            sender=TelegramSender(app.bot, lanes),
            translator_of=lambda admin: translator_of(users, i18n, admin),
            restart=restart,
        ),
        js_runtime=rt.pools.js.label,
        places=Places.build(settings, rt.db, cache, jobs_repo, utc_now),
    )


async def translator_of(users: UserRepo, i18n: I18n, user_id: int) -> Translator:
    """An admin's language for an alert: their /language choice, else Telegram's."""
    record = await users.get(user_id)
    if record is None:
        return i18n.get(None)
    return i18n.get(record.language_override or record.language_code)


def pipeline_config(settings: Settings, *, worker: bool = False) -> PipelineConfig:
    return PipelineConfig(
        data_dir=settings.data_dir,
        job_timeout=settings.job_timeout_seconds,
        choice_timeout=settings.choice_timeout_seconds,
        split=settings.split_files,
        max_items=settings.max_playlist_items,
        job_limit=settings.max_job_size,
        keep_interrupted=not worker,
        # A worker parks as one process does; its front waits for the next try (parked.py).
        park=ParkPolicy(dt.timedelta(hours=settings.park_retry_hours), utc_now),
    )


def build_pipeline(
    settings: Settings,
    pools: Pools,
    *,
    deliverer: Deliverer,
    cache: CacheLookup,
    records: JobRecorder,
    parts: PartLedger,
    i18n: I18n,
    worker: bool = False,
    streamer: StreamSender | None = None,
) -> Pipeline:
    """The pipeline with this process's fetchers (a single process, or a worker). `streamer`
    uploads while downloading (none on a worker: its deliveries go through its ledger)."""
    guard = pools.guard
    children = ytdlp_children(settings.data_dir)  # the wrapped ffmpeg and deno
    # yt-dlp may also call the PO-token provider the operator runs (often on loopback).
    ytdlp_guard = guard.trusting(settings.pot_endpoints)
    return Pipeline(
        config=pipeline_config(settings, worker=worker),
        fetcher=Fetcher(
            HttpFetcher(pools.download_client, guard, settings.max_file_size),
            YtdlpFetcher(
                pools.blocking,
                max_size=settings.max_file_size,
                proxy=settings.download_proxy_url,
                cookies=pools.cookies,
                js_runtimes=pools.js.option(),
                pot_provider=settings.ytdlp_pot_provider_url,
                factory=lambda params, stop: guarded_youtube_dl(
                    {**params, **children},
                    ytdlp_guard,
                    JobNet(stop, settings.max_page_size, pools.io),
                ),
            ),
        ),
        postprocess=prepare,
        deliverer=deliverer,
        cache=cache,
        records=records,
        parts=parts,
        translator=i18n.get,
        streamer=streamer,
        pages=PageStage(pools.pages, guard, page_config(settings)),
    )


def page_config(settings: Settings) -> PageConfig:
    return PageConfig(settings.pdf_timeout_seconds, settings.zone, enabled=settings.pdf_pages)


def streaming_uploader(settings: Settings, app: TgApp, lanes: Lanes) -> StreamingUploader | None:
    """Uploads while downloading through the Bot API; not with a local Bot API server, which
    reads the finished file from disk by itself."""
    if settings.bot_api_local_mode:
        return None
    return StreamingUploader(
        app.bot,
        lanes,
        limit=settings.bot_api_upload_limit,
        answer_timeout=settings.bot_api_timeout_seconds,
    )


def record_job(metrics: Metrics, report: JobReport) -> None:
    outcome = report.outcome
    metrics.inc("downloads_total", outcome=outcome_label(outcome))
    metrics.observe("job_duration_seconds", report.seconds)
    for sent in outcome.files if isinstance(outcome, Delivered) else ():
        if sent.route == "cache":
            metrics.inc("cache_hits_total")
        elif sent.size:
            metrics.inc("bytes_delivered_total", sent.size, route=sent.route)
