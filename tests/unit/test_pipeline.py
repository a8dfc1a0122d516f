"""The pipeline alone, without Telegram: what it emits, what it records, how it ends.

The fetcher, the deliverer, the cache and the recorder are small fakes; the pipeline is the
real one, with its real stop handling.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from bot.download.cancel import CancelToken, StopReason
from bot.download.types import FetchedFile, TransferFn, Watch
from bot.download.ytdlp import PageInfo
from bot.i18n import Translator
from bot.jobs.control import JobControl
from bot.jobs.events import Chosen, Delivering, JobEvent, NeedChoice, Progress, Started
from bot.jobs.fetch import FILE_CHOICE, Choose, Fetched
from bot.jobs.outcomes import Cancelled, Delivered, Failed, Interrupted, SentFile
from bot.jobs.pipeline import Pipeline, PipelineConfig
from bot.model.failures import FailureReason, FetchError
from bot.model.job import FormatChoice, Job, JobState
from bot.model.media import MediaFile, MediaInfo, MediaKind, Prepared
from bot.store.cache import CachedFile
from bot.store.links import LinkOutcome
from bot.store.outcomes import Ending
from bot.store.parts import SentPart
from bot.upload.album import Resent
from bot.upload.types import Delivery, ProgressFn, Uploaded

URL = "https://example.com/clip"
SIZE = 4096


def make_job(choice: FormatChoice = FormatChoice.AUTO, reply_to: int | None = None) -> Job:
    now = dt.datetime.now(dt.UTC)
    return Job(7, 1, 1, URL, choice, JobState.QUEUED, "en", None, 70, 0, now, reply_to)


class Events:
    def __init__(self) -> None:
        self.seen: list[JobEvent] = []
        self.asked = asyncio.Event()

    def emit(self, event: JobEvent) -> None:
        self.seen.append(event)
        if isinstance(event, NeedChoice):
            self.asked.set()

    def kinds(self) -> list[type]:
        return [type(e) for e in self.seen]


class Fetcher:
    """Writes a file, reporting progress; a page asks `choose` first. `hold` blocks it."""

    max_size = 10 * SIZE

    def __init__(self, *, page: bool = False, hold: bool = False, more: int = 0) -> None:
        self.page = page
        self.hold = hold
        self.more = more
        self.chosen: FormatChoice | None = None
        self.holding = asyncio.Event()

    async def fetch(
        self,
        url: str,
        folder: Path,
        progress: TransferFn,
        cancel: CancelToken,
        cap: int,
        choose: Choose,
        *,
        file_cap: int | None = None,
        watch: Watch | None = None,
    ) -> Fetched | None:
        key = FILE_CHOICE
        if self.page:
            self.chosen = await choose(PageInfo(url, "A clip", 3.0, SIZE, True, {}))
            if self.chosen is None:
                return None
            key = str(self.chosen)
        path = folder / "clip.mp4"
        path.write_bytes(b"x" * SIZE)
        progress(SIZE // 2, SIZE)
        if self.hold:
            self.holding.set()
            await asyncio.Event().wait()  # until stopped
        progress(SIZE, SIZE)
        if not self.page:
            return Fetched((FetchedFile(path, SIZE, None),), key)
        fetched = FetchedFile(path, SIZE, "A clip", performer="The Band", track="Clip Song")
        return Fetched((fetched,), key, self.more)

    async def items(self, url: str, cancel: CancelToken, limit: int) -> list[PageInfo]:
        raise AssertionError("no playlists in these tests")

    async def item(
        self, page: PageInfo, folder: Path, progress: TransferFn, cancel: CancelToken, cap: int
    ) -> Fetched:
        raise AssertionError("no playlists in these tests")


class Deliverer:
    capacity = 50 * 1024 * 1024
    album_limit = 50 * 1024 * 1024

    async def send_album(self, deliveries: list[Delivery], progress: ProgressFn) -> list[Uploaded]:
        raise AssertionError("no albums in these tests")

    async def resend_album(
        self,
        chat_id: int,
        items: list[Resent],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[Uploaded]:
        raise AssertionError("no albums in these tests")

    def __init__(self) -> None:
        self.sent: list[Delivery] = []
        self.resent: list[int | None] = []  # the reply_to of each resend

    async def deliver(self, delivery: Delivery, progress: ProgressFn) -> Uploaded:
        assert delivery.path.read_bytes() == b"x" * SIZE  # the fetched file, still there
        progress(delivery.size, delivery.size)
        self.sent.append(delivery)
        return Uploaded(11, "FILE-ID", delivery.info.kind, "botapi")

    async def resend(
        self,
        chat_id: int,
        kind: MediaKind,
        file_id: str,
        caption: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Uploaded:
        self.resent.append(reply_to)
        return Uploaded(12, file_id, kind, "botapi")


class Cache:
    def __init__(self, files: dict[tuple[str, str], CachedFile] | None = None) -> None:
        self.files = files or {}

    async def get(self, url_key: str, choice: str) -> CachedFile | None:
        return self.files.get((url_key, choice))

    async def drop(self, url_key: str, choice: str) -> None:
        self.files.pop((url_key, choice), None)


class Records:
    def __init__(self) -> None:
        self.log: list[Any] = []

    async def started(self, job_id: int) -> None:
        self.log.append("started")

    async def chose(self, job_id: int, choice: FormatChoice) -> None:
        self.log.append(choice)

    async def record(self, job_id: int, link_id: int | None, ending: Ending) -> None:
        self.log.append(ending)


class Ledger:
    """The parts of a file sent in parts, by job (store/parts.py's PartRepo)."""

    def __init__(self) -> None:
        self.parts: dict[int, dict[int, SentPart]] = {}

    async def sent(self, job_id: int) -> dict[int, SentPart]:
        return dict(self.parts.get(job_id, {}))

    async def record(self, job_id: int, part: SentPart) -> None:
        self.parts.setdefault(job_id, {})[part.index] = part


class PostProcess:
    """Takes the file as it is, a video (or the sound, as an .m4a, when that was asked for)."""

    def __init__(self) -> None:
        self.given: list[MediaFile] = []

    async def __call__(self, file: MediaFile) -> Prepared:
        self.given.append(file)
        if file.audio_only:
            sound = file.path.rename(file.path.with_suffix(".m4a"))
            return Prepared(sound, SIZE, MediaInfo(MediaKind.AUDIO, 3))
        return Prepared(file.path, SIZE, MediaInfo(MediaKind.VIDEO, 3, 320, 240))


def pipeline(
    tmp_path: Path,
    fetcher: Fetcher,
    records: Records,
    cache: Cache | None = None,
    postprocess: PostProcess | None = None,
    job_timeout: float = 30,
    keep_interrupted: bool = True,
) -> tuple[Pipeline, Deliverer]:
    deliverer = Deliverer()
    config = PipelineConfig(tmp_path, job_timeout, 5, keep_interrupted=keep_interrupted)
    built = Pipeline(
        config=config,
        fetcher=fetcher,
        postprocess=postprocess or PostProcess(),
        deliverer=deliverer,
        cache=cache or Cache(),
        records=records,
        parts=Ledger(),
        translator=lambda _language: Translator("en"),
    )
    return built, deliverer


async def test_a_plain_file_is_fetched_delivered_and_recorded(tmp_path: Path) -> None:
    records, events = Records(), Events()
    run, deliverer = pipeline(tmp_path, Fetcher(), records)

    outcome = await run.run(make_job(), JobControl(), events)

    assert outcome == Delivered((SentFile("botapi", SIZE),))
    [sent] = deliverer.sent
    assert (sent.info.kind, sent.size) == (MediaKind.VIDEO, SIZE)
    assert sent.filename == "clip.mp4"  # a plain file keeps its own name
    assert "clip.mp4" in sent.caption
    assert events.kinds()[0] is Started
    assert Delivering in events.kinds()
    assert records.log[0] == "started"
    ending = records.log[-1]
    assert (ending.state, ending.link) == (JobState.DONE, LinkOutcome.DELIVERED)
    assert ending.cached.choice == FILE_CHOICE
    assert ending.cached.file.file_id == "FILE-ID"
    assert not run.folder_of(7).exists()  # nothing left on disk


async def test_a_media_page_asks_and_fetches_what_the_user_chose(tmp_path: Path) -> None:
    records, events, control = Records(), Events(), JobControl()
    fetcher = Fetcher(page=True)
    run, _ = pipeline(tmp_path, fetcher, records)

    task = asyncio.create_task(run.run(make_job(), control, events))
    await asyncio.wait_for(events.asked.wait(), 5)
    assert control.asking
    assert control.choose(FormatChoice.AUDIO)
    outcome = await task

    assert isinstance(outcome, Delivered)
    assert fetcher.chosen is FormatChoice.AUDIO
    assert FormatChoice.AUDIO in records.log
    asked = next(e for e in events.seen if isinstance(e, NeedChoice))
    assert (asked.title, asked.estimated_size) == ("A clip", SIZE)
    assert Chosen("audio") in events.seen
    assert not control.choose(FormatChoice.BEST)  # the question is over


async def test_the_chosen_format_may_come_from_the_cache(tmp_path: Path) -> None:
    records, events, control = Records(), Events(), JobControl()
    cached = CachedFile("OLD-ID", MediaKind.AUDIO, "A clip", SIZE)
    cache = Cache({("https://example.com/clip", "audio"): cached})
    run, deliverer = pipeline(tmp_path, Fetcher(page=True), records, cache)

    task = asyncio.create_task(run.run(make_job(), control, events))
    await asyncio.wait_for(events.asked.wait(), 5)
    control.choose(FormatChoice.AUDIO)

    assert await task == Delivered((SentFile("cache", 0),))
    assert deliverer.sent == []  # resent by file_id, nothing uploaded


async def test_a_page_file_is_named_after_the_page_tagged_and_answers_the_link(
    tmp_path: Path,
) -> None:
    records, events, control = Records(), Events(), JobControl()
    post = PostProcess()
    run, deliverer = pipeline(tmp_path, Fetcher(page=True, more=2), records, None, post)

    task = asyncio.create_task(run.run(make_job(reply_to=55), control, events))
    await asyncio.wait_for(events.asked.wait(), 5)
    control.choose(FormatChoice.AUDIO)
    outcome = await task

    # The page had two more videos: the outcome says so (the presenter tells the user).
    assert outcome == Delivered((SentFile("botapi", SIZE),), more=2)
    [given] = post.given
    assert (given.title, given.performer, given.audio_only) == ("Clip Song", "The Band", True)
    [sent] = deliverer.sent
    assert (sent.filename, sent.reply_to) == ("A clip.m4a", 55)
    assert "A clip" in sent.caption
    assert records.log[-1].cached.file.more == 2  # told again when resent from the cache


async def test_a_resend_from_the_cache_answers_the_link_and_tells_of_more_videos(
    tmp_path: Path,
) -> None:
    cached = CachedFile("OLD-ID", MediaKind.VIDEO, "A clip", SIZE, more=3)
    cache = Cache({("https://example.com/clip", FILE_CHOICE): cached})
    run, deliverer = pipeline(tmp_path, Fetcher(), Records(), cache)

    outcome = await run.run(make_job(reply_to=8), JobControl(), Events())

    assert outcome == Delivered((SentFile("cache", 0),), more=3)
    assert deliverer.resent == [8]


async def test_a_cancel_mid_fetch_ends_cancelled_and_leaves_nothing(tmp_path: Path) -> None:
    records, events, control = Records(), Events(), JobControl()
    fetcher = Fetcher(hold=True)
    run, deliverer = pipeline(tmp_path, fetcher, records)

    task = asyncio.create_task(run.run(make_job(), control, events))
    await asyncio.wait_for(fetcher.holding.wait(), 5)
    control.stop(StopReason.CANCELLED)
    task.cancel()

    assert await task == Cancelled()
    assert (records.log[-1].state, records.log[-1].link) == (
        JobState.CANCELLED,
        LinkOutcome.CANCELLED,
    )
    assert deliverer.sent == []
    assert not run.folder_of(7).exists()


async def test_a_restart_mid_fetch_leaves_the_job_to_run_again(tmp_path: Path) -> None:
    records, events, control = Records(), Events(), JobControl()
    fetcher = Fetcher(hold=True)
    run, _ = pipeline(tmp_path, fetcher, records)

    task = asyncio.create_task(run.run(make_job(), control, events))
    await asyncio.wait_for(fetcher.holding.wait(), 5)
    control.stop(StopReason.SHUTDOWN)
    task.cancel()

    assert await task == Interrupted()
    ending = records.log[-1]
    assert (ending.state, ending.link, ending.attempts) == (JobState.QUEUED, None, 0)
    assert run.folder_of(7).exists()  # what was fetched waits for the next start


async def test_a_worker_keeps_nothing_of_a_stopped_job(tmp_path: Path) -> None:
    # Behind a queue another worker may take the job up: nothing here would clear the folder.
    records, events, control = Records(), Events(), JobControl()
    fetcher = Fetcher(hold=True)
    run, _ = pipeline(tmp_path, fetcher, records, keep_interrupted=False)

    task = asyncio.create_task(run.run(make_job(), control, events))
    await asyncio.wait_for(fetcher.holding.wait(), 5)
    control.stop(StopReason.SHUTDOWN)
    task.cancel()

    assert await task == Interrupted()
    assert not run.folder_of(7).exists()


async def test_a_post_process_past_the_job_deadline_is_stopped(tmp_path: Path) -> None:
    """A remux that never ends counts against the job's timeout like the download did."""

    class Endless(PostProcess):
        async def __call__(self, file: MediaFile) -> Prepared:
            self.given.append(file)
            await asyncio.Event().wait()  # an ffmpeg run that never finishes
            raise AssertionError("unreachable")

    endless = Endless()
    run, deliverer = pipeline(tmp_path, Fetcher(), Records(), None, endless, job_timeout=0.5)

    outcome = await run.run(make_job(), JobControl(), Events())

    assert outcome == Failed(FailureReason.TIMEOUT)
    assert len(endless.given) == 1  # it ran, and the deadline stopped it
    assert deliverer.sent == []
    assert not run.folder_of(7).exists()  # the half-made file went with the job's folder


async def test_a_fetch_failure_is_a_typed_outcome(tmp_path: Path) -> None:
    class Failing(Fetcher):
        async def fetch(self, *args: Any, **kwargs: Any) -> Fetched | None:
            raise FetchError(FailureReason.HTTP_STATUS, "HTTP 404", status=404)

    records = Records()
    run, _ = pipeline(tmp_path, Failing(), records)
    outcome = await run.run(make_job(), JobControl(), Events())
    assert outcome == Failed(FailureReason.HTTP_STATUS, "HTTP 404", status=404)
    assert records.log[-1].reason == "http_status"


def test_events_and_outcomes_are_plain_values() -> None:
    """They may cross a process (a worker elsewhere): frozen, and JSON as they are."""
    values: list[Any] = [
        Started(),
        NeedChoice("t", 1, 2.0),
        Chosen("best"),
        Progress("download", 1, 2, 3.0, 4.0),
        Delivering(1, 2),
        Delivered((SentFile("botapi", 5, confirmed=False),)),
        Failed(FailureReason.TIMEOUT, "slow", limit=9),
        Cancelled(),
        Interrupted(),
    ]
    for value in values:
        json.dumps(dataclasses.asdict(value))
        assert getattr(type(value), "__dataclass_params__").frozen  # noqa: B009
