"""What the soak's simulated users send: a weighted mix of links, text and commands."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from tests.e2e.procfs import MB
from tests.fakes.media_server import MediaServer

SHARED_LINKS = 3  # plain files many users ask for: the first fetch fills the cache


class Kind(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    THROTTLED = "throttled"
    REPEAT = "repeat"
    PAGE = "page"
    SLOW_PAGE = "slow_page"
    MISSING = "http_404"
    NO_MEDIA = "no_media_page"
    TEXT = "not_a_link"
    START = "/start"
    HISTORY = "/history"

    @property
    def is_link(self) -> bool:
        return self not in (Kind.TEXT, Kind.START, Kind.HISTORY)

    @property
    def is_page(self) -> bool:
        return self in (Kind.PAGE, Kind.SLOW_PAGE)


WEIGHTS: dict[Kind, int] = {
    Kind.SMALL: 20,
    Kind.MEDIUM: 8,
    Kind.THROTTLED: 8,
    Kind.REPEAT: 8,
    Kind.PAGE: 8,
    Kind.SLOW_PAGE: 4,
    Kind.MISSING: 6,
    Kind.NO_MEDIA: 5,
    Kind.TEXT: 5,
    Kind.START: 5,
    Kind.HISTORY: 3,
}
# Links worth pressing Cancel on: they run long enough for the button to matter.
CANCELLABLE = frozenset({Kind.MEDIUM, Kind.THROTTLED, Kind.PAGE, Kind.SLOW_PAGE})


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a user sends, and what a delivered file must hold.

    A plain file is checked against the media server's content of `file_name` and `file_size`;
    a page's video against `sha256`.
    """

    kind: Kind
    text: str
    file_name: str | None = None
    file_size: int = 0
    sha256: str | None = None


class Traffic:
    """Builds each user's next action from a seeded random generator."""

    def __init__(self, media: MediaServer, video_name: str, video_sha256: str) -> None:
        self._media = media
        self._video = video_name
        self._video_sha256 = video_sha256
        self._kinds = list(WEIGHTS)
        self._weights = list(WEIGHTS.values())

    def next(self, rng: random.Random, user: int, n: int) -> Action:
        kind = rng.choices(self._kinds, self._weights)[0]
        tag = f"u{user}n{n}"
        media = self._media
        if kind is Kind.SMALL:
            return self._file(kind, f"small-{tag}.bin", rng.randint(20_000, 600_000))
        if kind is Kind.MEDIUM:
            return self._file(kind, f"medium-{tag}.bin", rng.randint(4 * MB, 12 * MB))
        if kind is Kind.THROTTLED:
            rate = rng.choice((150_000, 300_000, 600_000))
            return self._file(kind, f"slow-{tag}.bin", rng.randint(MB, 3 * MB), rate)
        if kind is Kind.REPEAT:
            return self._file(kind, f"shared{rng.randrange(SHARED_LINKS)}.bin", 300_000)
        if kind.is_page:
            video = f"/static/{self._video}" + ("?rate=40000" if kind is Kind.SLOW_PAGE else "")
            page = f"/page/{tag}?video={quote(media.url(video), safe='')}&title=Clip%20{tag}"
            return Action(kind, media.url(page), sha256=self._video_sha256)
        if kind is Kind.MISSING:
            return Action(kind, media.url(f"/file/gone-{tag}.bin?status=404"))
        if kind is Kind.NO_MEDIA:
            return Action(kind, media.url(f"/page/empty?for={tag}"))
        if kind is Kind.TEXT:
            return Action(kind, rng.choice(("hello", "what can you do?", "thanks!", "ok 👍")))
        return Action(kind, str(kind))

    def _file(self, kind: Kind, name: str, size: int, rate: int | None = None) -> Action:
        query = f"size={size}" + (f"&rate={rate}" if rate else "")
        return Action(kind, self._media.url(f"/file/{name}?{query}"), name, size)
