"""What crosses Redis, as JSON validated by pydantic: the job a worker runs, its result (stored
by SAQ with the job's status) and the events of the lossy stream.

Plain values only (no pickle): whoever can write to Redis can make the bot fetch and send, but
never run code. Every message carries a version; one this code cannot read is refused whole
(WireError) and logged. The values are the domain's own dataclasses; unions carry a "type" tag.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, ValidationError, WrapSerializer

from bot.jobs.events import (
    Chosen,
    Delivering,
    NeedChoice,
    Progress,
    Queued,
    Resumed,
    RetryLater,
    Started,
)
from bot.jobs.outcomes import Cancelled, Delivered, Failed, Interrupted, Parked
from bot.model.job import FormatChoice, Job
from bot.store.cache import CachedFile
from bot.store.outcomes import Ending

# Every message's `v`: a front and a worker of other versions refuse each other. 3: workers
# park (a front of 2 would take a Parked result for the job's last word).
VERSION = 3


class WireError(ValueError):
    """A message that this code cannot read (another version, or damaged)."""


def _tag_of(value: Any) -> str | None:
    return value.get("type") if isinstance(value, dict) else type(value).__name__


def _tagged(name: str) -> WrapSerializer:
    return WrapSerializer(lambda value, dump: {"type": name, **dump(value)})


Outcome = Annotated[
    Annotated[Delivered, Tag("Delivered"), _tagged("Delivered")]
    | Annotated[Failed, Tag("Failed"), _tagged("Failed")]
    | Annotated[Cancelled, Tag("Cancelled"), _tagged("Cancelled")]
    | Annotated[Interrupted, Tag("Interrupted"), _tagged("Interrupted")]
    # A site refused the job for now: the front waits for its next try (parked.py).
    | Annotated[Parked, Tag("Parked"), _tagged("Parked")],
    Discriminator(_tag_of),
]
Event = Annotated[
    Annotated[Queued, Tag("Queued"), _tagged("Queued")]
    | Annotated[Resumed, Tag("Resumed"), _tagged("Resumed")]
    | Annotated[Started, Tag("Started"), _tagged("Started")]
    | Annotated[NeedChoice, Tag("NeedChoice"), _tagged("NeedChoice")]
    | Annotated[Chosen, Tag("Chosen"), _tagged("Chosen")]
    | Annotated[Progress, Tag("Progress"), _tagged("Progress")]
    | Annotated[Delivering, Tag("Delivering"), _tagged("Delivering")]
    | Annotated[RetryLater, Tag("RetryLater"), _tagged("RetryLater")],
    Discriminator(_tag_of),
]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    v: Literal[3] = 3  # VERSION

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def read(cls, data: Any) -> Self:
        """The message in `data` (a dict, or JSON text); WireError when it is not one."""
        try:
            if isinstance(data, str | bytes):
                return cls.model_validate_json(data)
            return cls.model_validate(data)
        except ValidationError as exc:
            raise WireError(f"unreadable {cls.__name__}: {exc.errors()[0]['msg']}") from exc


class JobSpec(_Message):
    """A job as a worker gets it: the job, and what the file_id cache held for its link when
    the front sent it (by format choice), so a worker answers a cached format without SQLite."""

    job: Job
    cached: dict[str, CachedFile]


class Shown(_Message):
    """An event of a job for its status message (the lossy stream: progress, the question)."""

    job_id: int
    event: Event


class Result(_Message):
    """How an attempt ended, as the worker's SAQ job returns it: the front records `ending`
    (as the pipeline would have in one process), drops the stale cached formats `dropped`,
    and tells `outcome`."""

    ending: Ending
    outcome: Outcome
    choice: FormatChoice | None  # the user's pick, when the job asked
    dropped: tuple[str, ...]  # cached formats Telegram no longer knew
    seconds: float
    worker: str
