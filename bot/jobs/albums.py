"""A playlist, all of it: items fetched one at a time and sent as albums of up to ten.

Each item is fetched, prepared and held until its album is full (ten, or the next item is of
another kind: videos, sounds and documents go in albums of their own; an animation, or a file
past the Bot API's limit, goes alone). One item that fails is listed in the job's last message
with its reason; the others go all the same. Each album sent is written in the job's ledger
(store/parts.py), so a restart resumes after it and never sends it twice; a stop ends the rest.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.download.cancel import CancelToken, StopReason
from bot.download.types import TransferFn
from bot.download.ytdlp import PageInfo
from bot.jobs.events import Delivering
from bot.jobs.fetch import Fetched
from bot.jobs.outcomes import Delivered, Failed, ItemFailure, Outcome, SentFile
from bot.jobs.parts import EARLIER, PartLedger
from bot.jobs.postprocess import Deliverable, PostProcess, post_process
from bot.jobs.progress import handed_over
from bot.jobs.record import Endings
from bot.jobs.run import Deliverer, JobRun
from bot.model.failures import (
    FailureReason,
    JobError,
    StaleFileIdError,
    UnconfirmedDeliveryError,
)
from bot.model.job import FormatChoice, Job, JobState
from bot.store.cache import CachedFile
from bot.store.links import LinkOutcome
from bot.store.outcomes import Cached, Ending
from bot.store.parts import SentPart
from bot.upload.album import ALBUM_MAX, Resent, album_kind
from bot.upload.caption import caption
from bot.upload.types import Delivery

log = logging.getLogger(__name__)

ALL = str(FormatChoice.ALL)  # the cache's key for a whole playlist


class ItemFetcher(Protocol):
    async def items(self, url: str, cancel: CancelToken, limit: int) -> list[PageInfo]: ...

    async def item(
        self, page: PageInfo, folder: Path, progress: TransferFn, cancel: CancelToken, cap: int
    ) -> Fetched: ...


@dataclass(frozen=True, slots=True)
class AlbumLimits:
    max_items: int  # MAX_PLAYLIST_ITEMS
    item_cap: Callable[[], int]  # bytes one item may be (the pipeline's cap, without parts)
    job_limit: int  # MAX_JOB_SIZE_MB: all items together


@dataclass(frozen=True, slots=True)
class _Held:
    """An item fetched and prepared, waiting for its album."""

    index: int
    title: str | None
    ready: Deliverable
    folder: Path


@dataclass
class _Tally:
    """What the run has sent and what failed, item by item."""

    count: int
    files: list[SentFile]
    parts: dict[int, SentPart]
    failed: list[ItemFailure]
    size: int = 0


class AlbumSender:
    """Sends a playlist's items as albums; resends a cached playlist the same way."""

    def __init__(
        self,
        fetcher: ItemFetcher,
        postprocess: PostProcess,
        deliverer: Deliverer,
        ledger: PartLedger,
        endings: Endings,
        limits: AlbumLimits,
    ) -> None:
        self._fetcher = fetcher
        self._postprocess = postprocess
        self._deliverer = deliverer
        self._ledger = ledger
        self._end = endings
        self._limits = limits

    async def deliver(self, run: JobRun, page: PageInfo) -> Outcome:
        job, cancel = run.job, run.control.cancel
        items = await self._fetcher.items(job.url, cancel, self._limits.max_items)
        done = await self._ledger.sent(job.id)
        tally = _Tally(len(items), [], dict(done), [], sum(p.size for p in done.values()))
        log.info("playlist_items id=%d items=%d sent_before=%d", job.id, len(items), len(done))
        held: list[_Held] = []
        for index, item in enumerate(items, start=1):
            if index in done:
                tally.files.append(SentFile(EARLIER, 0, done[index].confirmed))
                continue
            got = await self._fetch(run, tally, index, item)
            if got is None:
                continue
            kind = album_kind(got.ready.prepared.info.kind)
            if got.ready.size > self._deliverer.album_limit:
                kind = None  # too large for an album: alone, by the route that carries it
            if held and (kind is None or album_kind(held[0].ready.prepared.info.kind) is not kind):
                await self._send(run, tally, held)  # a kind of its own: the album so far goes
                held = []
            held.append(got)
            if kind is None or len(held) == ALBUM_MAX:
                await self._send(run, tally, held)
                held = []
        if held:
            await self._send(run, tally, held)
        return await self._finish(run, page, tally)

    async def _fetch(self, run: JobRun, tally: _Tally, index: int, item: PageInfo) -> _Held | None:
        """The item fetched and prepared; None (its failure tallied) when it could not be."""
        folder = run.folder / f"item{index:03d}"
        run.tracker.phase("download", index, tally.count, "item")
        try:
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            fetched = await self._fetcher.item(
                item, folder, run.tracker.update, run.control.cancel, self._limits.item_cap()
            )
            ready = await post_process(self._postprocess, fetched, as_file=run.job.prefs.as_file)
            _check_job_size(tally.size + ready.size, self._limits.job_limit)
        except JobError as exc:
            log.info("playlist_item_failed id=%d item=%d reason=%s", run.job.id, index, exc.reason)
            tally.failed.append(ItemFailure(index, item.title, Failed.of(exc)))
            await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
            return None
        tally.size += ready.size
        return _Held(index, item.title, ready, folder)

    async def _send(self, run: JobRun, tally: _Tally, held: list[_Held]) -> None:
        """One album (or one file alone); written down before the next is fetched."""
        job = run.job
        deliveries = [
            Delivery(
                job.chat_id,
                h.ready.path,
                h.ready.filename,
                caption(run.tr, h.ready.title, h.ready.size, job.url),
                h.ready.size,
                h.ready.prepared.info,
                job.reply_to,
                thread_id=job.thread_id,
            )
            for h in held
        ]
        run.events.emit(Delivering(held[0].index, tally.count, "item"))
        run.tracker.phase("upload", held[0].index, tally.count, "item")
        try:
            if len(held) == 1:
                sent = [await self._deliverer.deliver(deliveries[0], run.tracker.update)]
            else:
                sent = await self._deliverer.send_album(deliveries, run.tracker.update)
        except UnconfirmedDeliveryError as exc:
            await self._unconfirmed(run, tally, held, exc.route)
            return
        except asyncio.CancelledError:
            if handed_over(run.tracker):  # Telegram may have them all: never sent again
                reason = run.control.cancel.reason or StopReason.TIMEOUT
                await self._unconfirmed(run, tally, held, f"stopped: {reason}")
            raise
        except JobError as exc:
            log.info("playlist_album_failed id=%d reason=%s", job.id, exc.reason)
            tally.failed += [ItemFailure(h.index, h.title, Failed.of(exc)) for h in held]
            return
        finally:
            for h in held:
                shutil.rmtree(h.folder, ignore_errors=True)
        for h, got in zip(held, sent, strict=True):
            part = SentPart(h.index, tally.count, got.file_id, got.kind, h.ready.size)
            await asyncio.shield(self._ledger.record(job.id, part))
            tally.parts[h.index] = part
            tally.files.append(SentFile(got.route, h.ready.size))
        log.info("playlist_sent id=%d first=%d files=%d", job.id, held[0].index, len(held))

    async def _unconfirmed(
        self, run: JobRun, tally: _Tally, held: list[_Held], route: str
    ) -> None:
        log.warning(
            "playlist_unconfirmed id=%d first=%d route=%s", run.job.id, held[0].index, route
        )
        for h in held:
            kind = h.ready.prepared.info.kind
            part = SentPart(h.index, tally.count, None, kind, h.ready.size)
            await asyncio.shield(self._ledger.record(run.job.id, part))
            tally.parts[h.index] = part
            tally.files.append(SentFile("botapi", 0, confirmed=False))

    async def _finish(self, run: JobRun, page: PageInfo, tally: _Tally) -> Outcome:
        failed = tuple(sorted(tally.failed, key=lambda f: f.index))
        if not tally.files:  # not one item went: the job failed, for the first one's reason
            why = failed[0].failure
            error = JobError(why.reason, "every item failed", status=why.status)
            return await self._end.failed(run, error)
        parts = tuple(tally.parts[i] for i in sorted(tally.parts))
        confirmed = all(f.confirmed for f in tally.files)
        title = page.info.get("playlist_title") or page.title
        title = title if isinstance(title, str) else None
        cached = None
        first = parts[0] if parts else None
        if confirmed and not failed and first is not None and first.file_id is not None:
            entry = CachedFile(first.file_id, first.kind, title, tally.size, 0, parts)
            cached = Cached(run.key, ALL, entry)
        link = LinkOutcome.DELIVERED if confirmed else LinkOutcome.UNCONFIRMED
        ending = Ending(JobState.DONE, link, size=tally.size, title=title, cached=cached)
        outcome = Delivered(tuple(tally.files), 0, failed)
        return await self._end.delivered(run, ending, outcome)

    async def resend(self, run: JobRun, hit: CachedFile) -> Outcome | None:
        """Send a cached playlist again by file_id, album by album; None when a file_id is no
        longer valid (what went is in the ledger: the fetch that follows sends the rest)."""
        job = run.job
        done = await self._ledger.sent(job.id)
        files: list[SentFile] = []
        groups: list[list[SentPart]] = []
        for part in hit.parts:
            if part.index in done or part.file_id is None:
                files.append(SentFile(EARLIER, 0, part.index in done))
                continue
            kind = album_kind(part.kind)
            last = groups[-1] if groups else None
            if last and kind is not None and last[0].kind is kind and len(last) < ALBUM_MAX:
                last.append(part)
            else:
                groups.append([part])
        for group in groups:
            items = [
                Resent(p.kind, p.file_id or "", caption(run.tr, hit.title or "", p.size, job.url))
                for p in group
            ]
            try:
                await self._resend_group(job, items)
            except StaleFileIdError:
                return None
            except UnconfirmedDeliveryError:
                files += [SentFile("cache", 0, confirmed=False)] * len(group)
            else:
                files += [SentFile("cache", 0)] * len(group)
            for part in group:  # written down either way: never sent twice
                await asyncio.shield(self._ledger.record(job.id, part))
        log.info("cache_hit id=%d items=%d", job.id, len(hit.parts))
        confirmed = all(f.confirmed for f in files)
        link = LinkOutcome.DELIVERED if confirmed else LinkOutcome.UNCONFIRMED
        ending = Ending(JobState.DONE, link, size=hit.size, title=hit.title)
        return await self._end.delivered(run, ending, Delivered(tuple(files)))

    async def _resend_group(self, job: Job, items: list[Resent]) -> None:
        where = {"reply_to": job.reply_to, "thread_id": job.thread_id}
        if len(items) == 1:
            [item] = items
            await self._deliverer.resend(
                job.chat_id, item.kind, item.file_id, item.caption, **where
            )
            return
        await self._deliverer.resend_album(job.chat_id, items, **where)


def _check_job_size(size: int, limit: int) -> None:
    """All the items of one job together stay within MAX_JOB_SIZE_MB."""
    if size > limit:
        raise JobError(FailureReason.TOO_LARGE, "MAX_JOB_SIZE_MB reached", size=size, limit=limit)
