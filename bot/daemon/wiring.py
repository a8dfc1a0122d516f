"""Builds the services and the resources they share (pools, HTTP clients, the database)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from bot import __version__
from bot.access.ratelimit import RateLimiter
from bot.access.rules import Access
from bot.config.settings import Settings
from bot.daily.expiry import ExpiryConfig, ExpiryService
from bot.daily.sender import TelegramSender
from bot.download.http import HttpFetcher
from bot.download.pinned import download_client
from bot.download.safety import UrlGuard
from bot.download.ytdlp import YtdlpFetcher
from bot.download.ytdlp_guard import JobNet, guarded_youtube_dl
from bot.handlers.context import TgApp
from bot.handlers.services import Services
from bot.history.pages import History
from bot.i18n import I18n
from bot.jobs.engine import Engine, JobReport
from bot.jobs.fetch import Fetcher
from bot.jobs.manager import JobManager, Limits
from bot.jobs.outcomes import Delivered, outcome_label
from bot.jobs.parts import PartLedger
from bot.jobs.pipeline import CacheLookup, Pipeline, PipelineConfig
from bot.jobs.pipeline import Deliverer as PipelineDeliverer
from bot.jobs.record import JobRecorder
from bot.jobs.stream_through import StreamSender
from bot.media.prepare import prepare
from bot.ops.metrics import Metrics
from bot.presenter.presenter import Presenters
from bot.remote.connect import QueueLink, open_queue
from bot.remote.front import FrontStores, NoFetch, RemoteEngine
from bot.remote.tuning import Tuning
from bot.store.cache import CacheRepo
from bot.store.db import Database
from bot.store.jobs import JobRepo
from bot.store.links import LinkRepo
from bot.store.meta import MetaRepo
from bot.store.outcomes import OutcomeRepo
from bot.store.parts import PartRepo
from bot.store.stats import StatsRepo
from bot.store.users import UserRepo
from bot.telegram_io.lanes import Lanes
from bot.telegram_io.ui import TelegramChatUI
from bot.upload.botapi import BotApiUploader
from bot.upload.deliver import Deliverer
from bot.upload.mtproto import MtprotoUploader
from bot.upload.mtproto_client import resolve_factory
from bot.upload.streaming import StreamingUploader

log = logging.getLogger(__name__)


IO_THREADS = 4


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Pools:
    """What downloads run on: the pools, the URL guard, the download client."""

    blocking: ThreadPoolExecutor
    io: ThreadPoolExecutor
    guard: UrlGuard
    download_client: httpx.AsyncClient


@dataclass
class Runtime:
    """Everything with a lifetime that the daemon opens and must close."""

    db: Database
    pools: Pools
    queue: QueueLink | None  # with QUEUE_URL: this process is the front of workers


@contextlib.asynccontextmanager
async def open_pools(settings: Settings) -> AsyncIterator[Pools]:
    loop = asyncio.get_running_loop()
    io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="io")
    # DNS lookups (getaddrinfo) use the loop's default executor: keep them off the download pool.
    loop.set_default_executor(io)
    blocking = ThreadPoolExecutor(settings.download_workers, thread_name_prefix="download")
    guard = build_guard(settings)
    downloads = download_client(
        guard.addresses,
        settings.download_proxy_url,
        timeout=httpx.Timeout(30, connect=15),
        headers={"User-Agent": f"Mozilla/5.0 (compatible; tgfetch/{__version__})"},
    )
    try:
        yield Pools(blocking, io, guard, downloads)
    finally:
        await downloads.aclose()
        blocking.shutdown(wait=False, cancel_futures=True)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    db = Database(settings.data_dir / "tgfetch.sqlite3")
    async with contextlib.AsyncExitStack() as stack:
        pools = await stack.enter_async_context(open_pools(settings))
        queue = None
        if settings.queue_url is not None:
            tuning = Tuning.from_settings(settings)
            queue = await stack.enter_async_context(
                open_queue(settings.queue_url, tuning, patient=False)
            )
        try:
            await db.open()
            yield Runtime(db, pools, queue)
        finally:
            await db.close()


def build_services(
    settings: Settings, app: TgApp, rt: Runtime, metrics: Metrics, lanes: Lanes
) -> Services:
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
        mtproto = MtprotoUploader(resolve_factory(settings.mtproto_client_factory, settings))
    deliverer = Deliverer(botapi, mtproto, settings.bot_api_upload_limit)
    outcomes = OutcomeRepo(rt.db, utc_now)
    limits = Limits(
        workers=settings.download_workers,
        per_user=settings.max_jobs_per_user,
        max_queued=settings.max_queued_jobs,
    )
    observers = Presenters(TelegramChatUI(app.bot), lanes, i18n.get, jobs_repo.remember)
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
            on_outcome=lambda report: record_job(metrics, report),
        )
    else:
        # The front: it answers cached links itself and sends every other job to a worker.
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
            on_outcome=lambda report: record_job(metrics, report),
        )
    users = UserRepo(rt.db, utc_now)
    expiry = ExpiryService(
        config=ExpiryConfig.from_settings(settings),
        links=links_repo,
        users=users,
        jobs=jobs_repo,
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
        stats=StatsRepo(rt.db, utc_now, settings.zone),
        expiry=expiry,
    )


def pipeline_config(settings: Settings, *, keep_interrupted: bool = True) -> PipelineConfig:
    return PipelineConfig(
        data_dir=settings.data_dir,
        job_timeout=settings.job_timeout_seconds,
        choice_timeout=settings.choice_timeout_seconds,
        split=settings.split_files,
        max_items=settings.max_playlist_items,
        job_limit=settings.max_job_size,
        keep_interrupted=keep_interrupted,
    )


def build_pipeline(
    settings: Settings,
    pools: Pools,
    *,
    deliverer: PipelineDeliverer,
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
    return Pipeline(
        config=pipeline_config(settings, keep_interrupted=not worker),
        fetcher=Fetcher(
            HttpFetcher(pools.download_client, guard, settings.max_file_size),
            YtdlpFetcher(
                pools.blocking,
                max_size=settings.max_file_size,
                proxy=settings.download_proxy_url,
                cookies=settings.ytdlp_cookies,
                factory=lambda params, stop: guarded_youtube_dl(
                    params, guard, JobNet(stop, settings.max_page_size, pools.io)
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
    )


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


def build_guard(settings: Settings) -> UrlGuard:
    # Behind a download proxy the connected peer is the proxy itself: check URLs, not peers.
    return UrlGuard(
        settings.allow_private_urls, behind_proxy=settings.download_proxy_url is not None
    )
