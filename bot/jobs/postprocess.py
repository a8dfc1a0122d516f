"""The post-process stage: a fetched file made ready to send, named and titled for the chat.

What the file becomes (remuxed, tagged, its kind) is bot/media's business, reached through the
PostProcess callable; this stage says what the page knew and names the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.download.files import sanitize_filename
from bot.download.types import FetchedFile
from bot.jobs.fetch import Fetched
from bot.model.job import FormatChoice
from bot.model.media import MediaFile, Prepared, as_sent

# bot/media/prepare.py: the file the way Telegram shows it best (remuxed, tagged, with a
# thumbnail), and the kind it goes as. Its ffmpeg runs are killed when the job stops.
PostProcess = Callable[[MediaFile], Awaitable[Prepared]]


@dataclass(frozen=True, slots=True)
class Deliverable:
    """A fetched file made ready to send: `title` for the caption, `filename` for the chat."""

    path: Path
    size: int
    title: str
    filename: str
    prepared: Prepared
    more: int  # other videos on the page, not sent


async def post_process(
    postprocess: PostProcess, fetched: Fetched, *, as_file: bool = False
) -> Deliverable:
    """The one fetched file, prepared; counted in the job's deadline and stopped with it.
    `as_file`: a video goes as a document (the user's /settings)."""
    [file] = fetched.files
    media = MediaFile(
        file.path,
        title=file.track or file.title,
        performer=file.performer,
        cover=file.cover,
        audio_only=fetched.choice == FormatChoice.AUDIO,
    )
    prepared = await postprocess(media)
    if as_file:
        prepared = dataclasses.replace(prepared, info=as_sent(prepared.info, as_file))
    path = prepared.path
    return Deliverable(
        path, prepared.size, file.title or path.name, _name(file, path), prepared, fetched.more
    )


def _name(file: FetchedFile, path: Path) -> str:
    """A page's file is named after the page; a plain file keeps its own name (remuxed, its
    stem: "clip.mkv" goes as "clip.mp4")."""
    return sanitize_filename(file.title + path.suffix) if file.title else path.name
