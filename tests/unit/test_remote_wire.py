"""What crosses Redis between a worker and the front reads back as what was sent, and anything
else is refused, never half-read."""

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
    Started,
)
from bot.jobs.outcomes import (
    Cancelled,
    Delivered,
    Failed,
    Interrupted,
    ItemFailure,
    Outcome,
    SentFile,
)
from bot.model.failures import FailureReason
from bot.model.job import FormatChoice, Job, JobState
from bot.model.media import MediaKind
from bot.remote.wire import (
    Began,
    CacheDropped,
    Chose,
    Finished,
    JobSpec,
    Report,
    Shown,
    WireError,
    decode,
    encode,
)
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


@pytest.mark.parametrize(
    "report",
    [
        *(Shown(7, event) for event in EVENTS),
        Began(7, 2, "host-12"),
        Chose(7, FormatChoice.SMALL),
        CacheDropped("https://example.com/v", "best"),
        *(
            Finished(7, Ending(JobState.DONE, LinkOutcome.DELIVERED), outcome, 1.25, "host-12")
            for outcome in OUTCOMES
        ),
        Finished(
            7,
            Ending(
                JobState.DONE,
                LinkOutcome.DELIVERED,
                size=2048,
                title="Clip",
                cached=Cached("https://example.com/v", "best", FILE),
            ),
            OUTCOMES[0],
            3.0,
            "w",
        ),
        Finished(
            7,
            Ending(
                JobState.DONE,
                LinkOutcome.DELIVERED,
                size=130_000_000,
                title="Long",
                cached=Cached("https://example.com/long", "best", PARTS),
            ),
            Delivered((SentFile("botapi", 47_000_000), SentFile("botapi", 45_000_000))),
            3.0,
            "w",
        ),
        Finished(7, Ending(JobState.QUEUED, attempts=2), Interrupted(), 0.0, "w"),
        Finished(
            7, Ending(JobState.FAILED, LinkOutcome.FAILED, reason="dns"), OUTCOMES[1], 0.1, "w"
        ),
    ],
)
def test_every_report_reads_back_as_sent(report: Report) -> None:
    assert decode(encode(report)) == report


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
    )
    spec = JobSpec(job, {"best": FILE, "audio": CachedFile("x", MediaKind.AUDIO, None, None)})
    back = JobSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert (back.job.id, back.job.url, back.job.language, back.job.link_id) == (
        41,
        job.url,
        "fa",
        12,
    )
    assert back.job.created_at == job.created_at
    assert back.job.reply_to == 77  # the worker's file answers the user's link message
    assert back.job.status_message_id is None  # showing the job is the front's business
    assert back.cached == spec.cached


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"v": 2, "kind": "began", "job": 1, "attempt": 1, "worker": "w"}),
        json.dumps({"v": 1, "kind": "sent-by-a-newer-tgfetch", "job": 1}),
        json.dumps({"v": 1, "kind": "began", "job": 1}),
        json.dumps({"v": 1, "kind": "shown", "job": 1, "event": {"type": "Exec", "x": 1}}),
        json.dumps({"v": 1, "kind": "chose", "job": 1, "choice": "8k"}),
    ],
)
def test_anything_else_is_refused_whole(text: str) -> None:
    with pytest.raises(WireError):
        decode(text)


def test_a_job_of_another_version_is_refused() -> None:
    with pytest.raises(WireError):
        JobSpec.from_json({"v": 2, "job": {}, "cached": {}})
