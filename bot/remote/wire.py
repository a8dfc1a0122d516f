"""What crosses Redis, as JSON: the job a worker runs, and the reports it sends the front.

Plain values only (no pickle): whoever can write to Redis can make the bot fetch and send, but
never run code. Every report carries a version; one this code cannot read is skipped, logged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from bot.store.cache import CachedFile
from bot.store.links import LinkOutcome
from bot.store.outcomes import Cached, Ending
from bot.store.parts import SentPart

VERSION = 1

_EVENTS: dict[str, type[JobEvent]] = {
    cls.__name__: cls
    for cls in (Queued, Resumed, Started, NeedChoice, Chosen, Progress, Delivering)
}


class WireError(ValueError):
    """A message that this code cannot read (another version, or damaged)."""


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job as a worker gets it: the job, and what the file_id cache held for its link when
    the front sent it (by format choice), so a worker answers a cached format without SQLite."""

    job: Job
    cached: Mapping[str, CachedFile]

    def to_json(self) -> dict[str, Any]:
        job = self.job
        return {
            "v": VERSION,
            "job": {
                "id": job.id,
                "user_id": job.user_id,
                "chat_id": job.chat_id,
                "url": job.url,
                "choice": job.choice.value,
                "language": job.language,
                "link_id": job.link_id,
                "created_at": job.created_at.timestamp(),
                "reply_to": job.reply_to,  # the user's message with the link: files answer it
            },
            "cached": {choice: _cached_file(entry) for choice, entry in self.cached.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        try:
            _check_version(data)
            raw = data["job"]
            job = Job(
                id=int(raw["id"]),
                user_id=int(raw["user_id"]),
                chat_id=int(raw["chat_id"]),
                url=str(raw["url"]),
                choice=FormatChoice(raw["choice"]),
                state=JobState.QUEUED,
                language=str(raw["language"]),
                status_message_id=None,  # the front's business
                link_id=_optional_int(raw["link_id"]),
                attempts=0,
                created_at=dt.datetime.fromtimestamp(float(raw["created_at"]), dt.UTC),
                reply_to=_optional_int(raw["reply_to"]),
            )
            cached = {str(c): _read_cached_file(e) for c, e in data["cached"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WireError(f"unreadable job: {exc!r}") from exc
        return cls(job, cached)


# --- reports: worker -> front ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shown:
    """An event of the job for its status message."""

    job_id: int
    event: JobEvent


@dataclass(frozen=True, slots=True)
class Began:
    """A worker took the job (SAQ's attempt number, from 1)."""

    job_id: int
    attempt: int
    worker: str


@dataclass(frozen=True, slots=True)
class Chose:
    job_id: int
    choice: FormatChoice


@dataclass(frozen=True, slots=True)
class CacheDropped:
    """Telegram no longer knows a cached file_id: the front forgets it."""

    url_key: str
    choice: str


@dataclass(frozen=True, slots=True)
class Finished:
    """How the job ended, recorded by the front as the pipeline would have (`ending`), then
    told (`outcome`). Sent once the outcome is known, and at most once by an attempt."""

    job_id: int
    ending: Ending
    outcome: Outcome
    seconds: float
    worker: str


Report = Shown | Began | Chose | CacheDropped | Finished


def encode(report: Report) -> str:
    body: dict[str, Any]
    if isinstance(report, Shown):
        body = {"kind": "shown", "job": report.job_id, "event": encode_event(report.event)}
    elif isinstance(report, Began):
        body = {"kind": "began", "job": report.job_id, "attempt": report.attempt}
        body["worker"] = report.worker
    elif isinstance(report, Chose):
        body = {"kind": "chose", "job": report.job_id, "choice": report.choice.value}
    elif isinstance(report, CacheDropped):
        body = {"kind": "dropped", "url_key": report.url_key, "choice": report.choice}
    else:
        body = {
            "kind": "finished",
            "job": report.job_id,
            "ending": _ending(report.ending),
            "outcome": _outcome(report.outcome),
            "seconds": report.seconds,
            "worker": report.worker,
        }
    return json.dumps({"v": VERSION, **body}, separators=(",", ":"))


def decode(text: str | bytes) -> Report:
    try:
        data = json.loads(text)
        _check_version(data)
        kind = data["kind"]
        if kind == "shown":
            return Shown(int(data["job"]), decode_event(data["event"]))
        if kind == "began":
            return Began(int(data["job"]), int(data["attempt"]), str(data["worker"]))
        if kind == "chose":
            return Chose(int(data["job"]), FormatChoice(data["choice"]))
        if kind == "dropped":
            return CacheDropped(str(data["url_key"]), str(data["choice"]))
        if kind == "finished":
            return Finished(
                int(data["job"]),
                _read_ending(data["ending"]),
                _read_outcome(data["outcome"]),
                float(data["seconds"]),
                str(data["worker"]),
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireError(f"unreadable report: {exc!r}") from exc
    raise WireError(f"unknown report kind {kind!r}")


def encode_event(event: JobEvent) -> dict[str, Any]:
    return {"type": type(event).__name__, **dataclasses.asdict(event)}


def decode_event(data: Mapping[str, Any]) -> JobEvent:
    fields = dict(data)
    cls = _EVENTS[str(fields.pop("type"))]
    return cls(**fields)


def _check_version(data: Mapping[str, Any]) -> None:
    if data.get("v") != VERSION:
        raise WireError(f"version {data.get('v')!r}, this tgfetch reads {VERSION}")


def _cached_file(entry: CachedFile) -> dict[str, Any]:
    return {
        "file_id": entry.file_id,
        "kind": entry.kind.value,
        "title": entry.title,
        "size": entry.size,
        "more": entry.more,
        "parts": [_part(p) for p in entry.parts],  # a file in parts, a playlist's items
    }


def _part(part: SentPart) -> dict[str, Any]:
    return {
        "index": part.index,
        "count": part.count,
        "file_id": part.file_id,
        "kind": part.kind.value,
        "size": part.size,
        "start": part.start,
        "end": part.end,
    }


def _read_part(data: Mapping[str, Any]) -> SentPart:
    return SentPart(
        int(data["index"]),
        int(data["count"]),
        None if data["file_id"] is None else str(data["file_id"]),
        MediaKind(data["kind"]),
        int(data["size"]),
        None if data["start"] is None else float(data["start"]),
        None if data["end"] is None else float(data["end"]),
    )


def _read_cached_file(data: Mapping[str, Any]) -> CachedFile:
    return CachedFile(
        str(data["file_id"]),
        MediaKind(data["kind"]),
        data["title"],
        _optional_int(data["size"]),
        int(data["more"]),
        tuple(_read_part(p) for p in data.get("parts") or ()),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _ending(ending: Ending) -> dict[str, Any]:
    cached = ending.cached
    return {
        "state": ending.state.value,
        "link": None if ending.link is None else ending.link.value,
        "reason": ending.reason,
        "size": ending.size,
        "title": ending.title,
        "attempts": ending.attempts,
        "cached": None
        if cached is None
        else {
            "url_key": cached.url_key,
            "choice": cached.choice,
            "file": _cached_file(cached.file),
        },
    }


def _read_ending(data: Mapping[str, Any]) -> Ending:
    cached = data["cached"]
    return Ending(
        state=JobState(data["state"]),
        link=None if data["link"] is None else LinkOutcome(data["link"]),
        reason=data["reason"],
        size=data["size"],
        title=data["title"],
        attempts=data["attempts"],
        cached=None
        if cached is None
        else Cached(
            str(cached["url_key"]), str(cached["choice"]), _read_cached_file(cached["file"])
        ),
    )


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {"type": type(outcome).__name__, **dataclasses.asdict(outcome)}


def _read_failed(data: Mapping[str, Any]) -> Failed:
    return Failed(
        FailureReason(data["reason"]),
        str(data["detail"]),
        data["size"],
        data["limit"],
        data["status"],
    )


def _read_outcome(data: Mapping[str, Any]) -> Outcome:
    kind = data["type"]
    if kind == "Delivered":
        return Delivered(
            tuple(
                SentFile(str(f["route"]), int(f["size"]), bool(f["confirmed"]))
                for f in data["files"]
            ),
            int(data["more"]),
            tuple(
                ItemFailure(int(f["index"]), f["title"], _read_failed(f["failure"]))
                for f in data.get("failed") or ()
            ),
        )
    if kind == "Failed":
        return _read_failed(data)
    if kind == "Cancelled":
        return Cancelled()
    if kind == "Interrupted":
        return Interrupted()
    raise WireError(f"unknown outcome {kind!r}")
