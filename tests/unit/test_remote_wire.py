"""What crosses Redis between a worker and the front (a job, its result, the events of the lossy
stream) reads back as what was sent, through JSON, and anything else is refused, never
half-read."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.jobs.events import (
    Chosen,
    Delivering,
    JobEvent,
    NeedChoice,
    Progress,
    Queued,
    Resumed,
    RetryLater,
    Started,
)
from bot.jobs.outcomes import (
    Cancelled,
    Delivered,
    Failed,
    Interrupted,
    ItemFailure,
    Outcome,
    Parked,
    SentFile,
)
from bot.model.failures import FailureReason
from bot.model.job import FormatChoice, Job, JobState, ParkMark
from bot.model.media import MediaKind
from bot.remote.wire import JobSpec, Result, Shown, WireError
from bot.store.cache import CachedFile
from bot.store.links import LinkOutcome
from bot.store.outcomes import Cached, Ending
from bot.store.parts import SentPart

EVENTS: list[JobEvent] = [
    Queued(3),
    Resumed(),
    Started(),
    NeedChoice("A title", 12_345, 20.0),
    NeedChoice(None, None, 0.5),
    Chosen("audio"),
    Progress("download", 10, 100, 5.5, 16.4),
    Progress("upload", 10, None, None, None),
    Delivering(2, 3),
    NeedChoice("A playlist", None, 20.0, items=12),  # issue 16: "All 12" offered
    Progress("upload", 5, 10, 1.0, 5.0, part=2, parts=3),
    Progress("download", 5, None, None, None, part=4, parts=12, unit="item"),
    Delivering(11, 12, "item"),
    RetryLater("rate_limited", 6.0),
]
OUTCOMES: list[Outcome] = [
    Delivered((SentFile("botapi", 100), SentFile("mtproto", 7, confirmed=False))),
    Delivered((SentFile("botapi", 100),), more=3),  # the page had 3 more videos: said so
    Failed(FailureReason.TOO_LARGE, "big", size=10, limit=5, status=None),
    Failed(FailureReason.HTTP_STATUS, status=404),
    Cancelled(),
    Interrupted(),
    # A playlist with one item that did not go: the front lists it with its reason.
    Delivered(
        (SentFile("botapi", 100), SentFile("earlier", 0)),
        failed=(ItemFailure(5, "Clip 5", Failed(FailureReason.HTTP_STATUS, status=404)),),
    ),
]
FILE = CachedFile("AgAD-file", MediaKind.VIDEO, "Clip", 2048, more=2)
# A file in parts: the front caches every part, so the same link is answered with all.
PARTS = CachedFile(
    "AgAD-p1",
    MediaKind.VIDEO,
    "Long",
    130_000_000,
    parts=(
        SentPart(1, 2, "AgAD-p1", MediaKind.VIDEO, 47_000_000, 0.0, 1.6),
        SentPart(2, 2, "AgAD-p2", MediaKind.VIDEO, 45_000_000, 1.6, 4.2),
    ),
)


DELIVERED = Ending(JobState.DONE, LinkOutcome.DELIVERED)
SINCE = dt.datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=dt.UTC)
RETRY_AT = SINCE + dt.timedelta(seconds=216.5)


@pytest.mark.parametrize("event", EVENTS)
def test_every_event_reads_back_as_sent(event: JobEvent) -> None:
    shown = Shown(job_id=7, event=event)
    assert Shown.read(shown.model_dump_json()) == shown


@pytest.mark.parametrize(
    "result",
    [
        *(
            Result(ending=DELIVERED, outcome=o, choice=None, dropped=(), seconds=1.25, worker="w")
            for o in OUTCOMES
        ),
        Result(
            ending=Ending(
                JobState.DONE,
                LinkOutcome.DELIVERED,
                size=2048,
                title="Clip",
                cached=Cached("https://example.com/v", "best", FILE),
            ),
            outcome=OUTCOMES[0],
            choice=FormatChoice.SMALL,
            dropped=("best", "audio"),  # stale file_ids the front forgets
            seconds=3.0,
            worker="host-12",
        ),
        Result(
            ending=Ending(
                JobState.DONE,
                LinkOutcome.DELIVERED,
                size=130_000_000,
                title="Long",
                cached=Cached("https://example.com/long", "best", PARTS),
            ),
            outcome=Delivered((SentFile("botapi", 47_000_000), SentFile("botapi", 45_000_000))),
            choice=None,
            dropped=(),
            seconds=3.0,
            worker="w",
        ),
        Result(  # a site refused it for now: the front waits for its next try
            ending=Ending(
                JobState.PARKED, attempts=0, parked=ParkMark(SINCE, RETRY_AT, "bot_check")
            ),
            outcome=Parked(Failed(FailureReason.BOT_CHECK), SINCE, RETRY_AT),
            choice=None,
            dropped=(),
            seconds=0.2,
            worker="w",
        ),
        Result(
            ending=Ending(JobState.FAILED, LinkOutcome.FAILED, reason="dns"),
            outcome=OUTCOMES[2],
            choice=None,
            dropped=(),
            seconds=0.1,
            worker="w",
        ),
    ],
)
def test_every_result_reads_back_as_sent(result: Result) -> None:
    # SAQ stores a result inside the job's JSON record, and hands it back as loaded.
    assert Result.read(json.loads(json.dumps(result.dump()))) == result


def test_a_job_reads_back_with_its_message_and_cached_formats() -> None:
    job = Job(
        id=41,
        user_id=5,
        chat_id=6,
        url="https://example.com/watch?v=1",
        choice=FormatChoice.AUTO,
        state=JobState.QUEUED,
        language="fa",
        status_message_id=99,
        link_id=12,
        attempts=0,
        created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        reply_to=77,
        parked_since=SINCE,  # sent again after a refusal: the window counts from the first
    )
    cached = {"best": FILE, "audio": CachedFile("x", MediaKind.AUDIO, None, None)}
    spec = JobSpec(job=job, cached=cached)
    back = JobSpec.read(json.loads(json.dumps(spec.dump())))
    assert (back.job.id, back.job.url, back.job.language, back.job.link_id) == (
        41,
        job.url,
        "fa",
        12,
    )
    assert back.job.created_at == job.created_at
    assert back.job.reply_to == 77  # the worker's file answers the user's link message
    assert back.job.parked_since == SINCE
    assert back == spec


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"v": 1, "job_id": 1, "event": {"type": "Started"}}),  # issue 17's wire
        json.dumps({"v": 3, "job_id": 1}),
        json.dumps({"v": 3, "job_id": 1, "event": {"type": "Exec", "x": 1}}),
        json.dumps({"v": 3, "job_id": 1, "event": {"type": "Progress", "phase": "upload"}}),
        json.dumps({"v": 3, "job_id": "one", "event": {"type": "Started"}}),
    ],
)
def test_anything_else_is_refused_whole(text: str) -> None:
    with pytest.raises(WireError):
        Shown.read(text)


@pytest.mark.parametrize(
    "data",
    [
        None,  # a job that ran nothing returns nothing
        {"v": 3, "outcome": {"type": "Delivered"}},
        {
            "v": 3,
            "ending": {"state": "done"},
            "outcome": {"type": "Lost"},
            "choice": None,
            "dropped": [],
            "seconds": 1,
            "worker": "w",
        },
        {
            "v": 3,
            "ending": {"state": "8k"},
            "outcome": {"type": "Cancelled"},
            "choice": None,
            "dropped": [],
            "seconds": 1,
            "worker": "w",
        },
    ],
)
def test_a_result_that_cannot_be_read_is_refused(data: object) -> None:
    with pytest.raises(WireError):
        Result.read(data)


def test_a_job_of_another_version_is_refused() -> None:
    with pytest.raises(WireError):
        JobSpec.read({"v": 1, "job": {}, "cached": {}})
