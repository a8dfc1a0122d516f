"""The deliver stage for a file larger than Telegram takes: sent in parts, one at a time.

Each part is cut from the source when its turn comes (bot/media/split.py), sent, written in the
job's ledger and removed before the next one is cut: the disk holds the source and one part,
and a restart resumes from the first part not in the ledger. A part whose answer was lost (or
that was stopped after Telegram had all of it) is written down without a file_id: it is most
likely in the chat and is never sent again. The same link later is answered from the cache
with every part.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.config.settings import SplitFiles
from bot.download.cancel import StopReason
from bot.jobs.events import Delivering
from bot.jobs.outcomes import Delivered, Outcome, SentFile
from bot.jobs.postprocess import Deliverable
from bot.jobs.progress import handed_over
from bot.jobs.record import Endings
from bot.jobs.run import Deliverer, JobRun
from bot.media.probe import read
from bot.media.split import MARGIN, Cut, byte_cuts, cut_bytes, cut_media, plan_media
from bot.model.failures import (
    DeliveryError,
    FailureReason,
    StaleFileIdError,
    UnconfirmedDeliveryError,
)
from bot.model.job import JobState
from bot.model.media import MediaKind, Prepared, as_sent
from bot.store.cache import CachedFile
from bot.store.links import LinkOutcome
from bot.store.outcomes import Cached, Ending
from bot.store.parts import SentPart
from bot.upload.caption import PartOf, caption
from bot.upload.types import Delivery

log = logging.getLogger(__name__)

MEDIA_KINDS = frozenset({MediaKind.VIDEO, MediaKind.AUDIO, MediaKind.ANIMATION})
EARLIER = "earlier"  # the route of a part an earlier run of the job delivered


class PartLedger(Protocol):
    """Which parts of a job's file are in the chat (store/parts.py)."""

    async def sent(self, job_id: int) -> dict[int, SentPart]: ...

    async def record(self, job_id: int, part: SentPart) -> None: ...


class RunLedger:
    """A ledger that remembers one run only. For a worker: what earlier attempts delivered is
    bot/remote's Redis ledger's business (its deliverer answers a part sent before without
    sending it again), so every part is handed to it in order, each run."""

    async def sent(self, job_id: int) -> dict[int, SentPart]:
        return {}

    async def record(self, job_id: int, part: SentPart) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Source:
    """The file being sent in parts, and what every part's message says of it."""

    ready: Deliverable
    kind: MediaKind
    seconds: float | None  # the whole file's duration, for the last part's time range
    limit: int  # bytes Telegram takes per file on the routes configured


class PartSender:
    """Cuts, sends and writes down a file's parts; resends a cached file's parts."""

    def __init__(
        self, deliverer: Deliverer, ledger: PartLedger, endings: Endings, mode: SplitFiles
    ) -> None:
        self._deliverer = deliverer
        self._ledger = ledger
        self._end = endings
        self._mode = mode

    async def deliver(self, run: JobRun, ready: Deliverable, choice: str) -> Outcome:
        """Send `ready` in parts under the deliverer's capacity; the outcome is recorded."""
        limit = self._deliverer.capacity
        kind = ready.prepared.info.kind
        source = _Source(ready, kind, None, limit)
        if kind in MEDIA_KINDS and self._mode is not SplitFiles.OFF:
            facts = await read(ready.path)
            cuts = await plan_media(ready.path, facts, limit) if facts is not None else None
            if cuts is None:
                raise DeliveryError(
                    FailureReason.SPLIT_FAILED, "no cut plan", size=ready.size, limit=limit
                )
            source = _Source(ready, kind, facts.seconds if facts else None, limit)
        elif self._mode is SplitFiles.ALL:
            cuts = byte_cuts(ready.size, int(limit * MARGIN))
        else:
            detail = f"SPLIT_FILES={self._mode} kind={kind}"
            raise DeliveryError(FailureReason.NOT_SPLIT, detail, size=ready.size, limit=limit)
        done = await self._ledger.sent(run.job.id)
        log.info(
            "parts_planned id=%d parts=%d sent_before=%d bytes=%d",
            run.job.id,
            len(cuts),
            len(done),
            ready.size,
        )
        parts: list[SentPart] = []
        files: list[SentFile] = []
        for cut in cuts:
            earlier = done.get(cut.index)
            if earlier is not None:
                parts.append(earlier)
                files.append(SentFile(EARLIER, 0, earlier.confirmed))
                continue
            part, sent = await self._one(run, source, cut)
            parts.append(part)
            files.append(sent)
        return await self._finish(run, ready, choice, parts, files)

    async def _one(self, run: JobRun, source: _Source, cut: Cut) -> tuple[SentPart, SentFile]:
        job, ready = run.job, source.ready
        run.events.emit(Delivering(cut.index, cut.count))
        run.tracker.phase("upload", cut.index, cut.count)
        if cut.start is not None:
            made = await cut_media(ready.path, cut, source.kind, run.folder)
            name = _part_name(ready.filename, cut)
        else:
            made = await cut_bytes(ready.path, cut, ready.filename, run.folder)
            name = made.path.name
        if made is None or made.size > source.limit:
            size = made.size if made is not None else 0
            if made is not None:
                _remove(made)
            raise DeliveryError(
                FailureReason.SPLIT_FAILED,
                f"part {cut.index} is {size} bytes",
                size=ready.size,
                limit=source.limit,
            )
        try:
            end = cut.end if cut.end is not None else source.seconds
            label = PartOf(cut.index, cut.count, cut.start, end)
            text = caption(run.tr, ready.title, made.size, job.url, label)
            info = as_sent(made.info, job.prefs.as_file)
            delivery = Delivery(
                job.chat_id,
                made.path,
                name,
                text,
                made.size,
                info,
                job.reply_to,
                thread_id=job.thread_id,
            )
            kind = info.kind
            try:
                got = await self._deliverer.deliver(delivery, run.tracker.update)
            except UnconfirmedDeliveryError as exc:
                log.warning("part_unconfirmed id=%d part=%d detail=%s", job.id, cut.index, exc)
                part = SentPart(cut.index, cut.count, None, kind, made.size, cut.start, end)
                await asyncio.shield(self._ledger.record(job.id, part))
                return part, SentFile(exc.route, 0, confirmed=False)
            except asyncio.CancelledError:
                if not handed_over(run.tracker):
                    raise
                # Stopped while Telegram held all of it: it may be in the chat, never resent.
                reason = run.control.cancel.reason or StopReason.TIMEOUT
                log.warning("part_unconfirmed id=%d part=%d stopped=%s", job.id, cut.index, reason)
                part = SentPart(cut.index, cut.count, None, kind, made.size, cut.start, end)
                await asyncio.shield(self._ledger.record(job.id, part))
                raise
            part = SentPart(cut.index, cut.count, got.file_id, got.kind, made.size, cut.start, end)
            await asyncio.shield(self._ledger.record(job.id, part))
            log.info(
                "part_sent id=%d part=%d/%d bytes=%d", job.id, cut.index, cut.count, made.size
            )
            return part, SentFile(got.route, made.size)
        finally:
            _remove(made)

    async def _finish(
        self,
        run: JobRun,
        ready: Deliverable,
        choice: str,
        parts: list[SentPart],
        files: list[SentFile],
    ) -> Outcome:
        confirmed = all(p.confirmed for p in parts)
        cached = None
        first = parts[0]
        if confirmed and first.file_id is not None:
            entry = CachedFile(
                first.file_id, first.kind, ready.title, ready.size, ready.more, tuple(parts)
            )
            cached = Cached(run.key, choice, entry)
        link = LinkOutcome.DELIVERED if confirmed else LinkOutcome.UNCONFIRMED
        ending = Ending(JobState.DONE, link, size=ready.size, title=ready.title, cached=cached)
        return await self._end.delivered(run, ending, Delivered(tuple(files), ready.more))

    async def resend(self, run: JobRun, hit: CachedFile) -> Outcome | None:
        """Send a cached file's parts again by file_id; None when one is no longer valid (the
        parts sent so far are in the ledger: the fetch that follows sends only the rest)."""
        job = run.job
        done = await self._ledger.sent(job.id)
        files: list[SentFile] = []
        for part in hit.parts:
            if part.index in done or part.file_id is None:
                files.append(SentFile(EARLIER, 0, part.index in done))
                continue
            label = PartOf(part.index, part.count, part.start, part.end)
            text = caption(run.tr, hit.title or "", part.size, job.url, label)
            try:
                await self._deliverer.resend(
                    job.chat_id,
                    part.kind,
                    part.file_id,
                    text,
                    reply_to=job.reply_to,
                    thread_id=job.thread_id,
                )
            except StaleFileIdError:
                return None
            except UnconfirmedDeliveryError:
                lost = SentPart(part.index, part.count, None, part.kind, part.size)
                await asyncio.shield(self._ledger.record(job.id, lost))
                files.append(SentFile("cache", 0, confirmed=False))
                continue
            except asyncio.CancelledError:
                # The (small) request may have landed: written down, never repeated.
                lost = SentPart(part.index, part.count, None, part.kind, part.size)
                await asyncio.shield(self._ledger.record(job.id, lost))
                raise
            await asyncio.shield(self._ledger.record(job.id, part))
            files.append(SentFile("cache", 0))
        confirmed = all(f.confirmed for f in files)
        link = LinkOutcome.DELIVERED if confirmed else LinkOutcome.UNCONFIRMED
        ending = Ending(JobState.DONE, link, size=hit.size, title=hit.title)
        log.info("cache_hit id=%d parts=%d", job.id, len(hit.parts))
        return await self._end.delivered(run, ending, Delivered(tuple(files), hit.more))


def _part_name(filename: str, cut: Cut) -> str:
    """ "clip.mp4" -> "clip.part2of3.mp4" """
    stem, dot, suffix = filename.rpartition(".")
    if not dot:
        return f"{filename}.part{cut.index}of{cut.count}"
    return f"{stem}.part{cut.index}of{cut.count}.{suffix}"


def _remove(part: Prepared) -> None:
    """A part goes as soon as it is sent (or failed): at once, even under a stop."""
    part.path.unlink(missing_ok=True)
    if part.info.thumbnail is not None:
        part.info.thumbnail.unlink(missing_ok=True)
