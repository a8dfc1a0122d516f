"""The post-process stage: a fetched file made ready to send, the way Telegram shows it best.

- Video Telegram plays inline (kinds.py) goes as an MP4 with its index first: as it is when it
  is one already, else remuxed (remux.py); only then is it sent as streamable.
- Sound from a page (the audio choice, or a page whose media is sound) goes as an M4A or MP3
  tagged with the page's title and performer, with the page's picture as cover (audio.py).
- Anything else goes as it came, as the kind its container and streams call for: a document
  unless it is media. A file whose name and first bytes show no media container (sniff.py)
  goes as a document without an ffprobe.

Every ffmpeg run is bounded and killed when the job stops; the job's deadline covers them all.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.media.audio import tagged_audio
from bot.media.facts import Facts
from bot.media.kinds import MEDIA_CONTAINERS, Plan, decide, is_mp4
from bot.media.mp4 import moov_first
from bot.media.probe import info_of, read, thumb_path, thumbnail
from bot.media.remux import to_faststart_mp4
from bot.media.sniff import may_be_media
from bot.model.media import MediaFile, MediaInfo, MediaKind, Prepared

log = logging.getLogger(__name__)

COVER_NAME = "cover.jpg"


async def prepare(file: MediaFile) -> Prepared:
    """The file to send and how; never raises for a bad file (it goes as a document)."""
    if not await asyncio.to_thread(may_be_media, file.path):
        return await _as_is(file.path, MediaInfo())
    facts = await read(file.path)
    if facts is None:
        return await _as_is(file.path, MediaInfo())
    if _sound_wanted(file, facts):
        prepared = await _audio(file, facts)
        if prepared is not None:
            return prepared
    plan = decide(facts)
    if plan.kind in (MediaKind.VIDEO, MediaKind.ANIMATION):
        return await _video(file.path, facts, plan)
    return await _as_is(file.path, info_of(facts))


def _sound_wanted(file: MediaFile, facts: Facts) -> bool:
    """Whether to make tagged audio: the user asked for the sound, or a page's media is sound
    (a plain file keeps its own tags and format: `title` is None for it)."""
    media = bool(facts.formats & MEDIA_CONTAINERS) and not facts.truncated
    if not media or facts.audio is None or facts.duration is None:
        return False
    return file.audio_only or (facts.video is None and file.title is not None)


async def _audio(file: MediaFile, facts: Facts) -> Prepared | None:
    cover = None
    if file.cover is not None and (picture := await read(file.cover)) is not None:
        # Its size first: a picture too large to decode gives no cover (probe.py).
        track = picture.picture or picture.video
        cover = await thumbnail(file.cover, file.path.with_name(COVER_NAME), at=None, track=track)
    title = file.title or facts.title
    performer = file.performer or facts.artist
    path = await tagged_audio(file.path, facts, title=title, performer=performer, cover=cover)
    if path is None:
        return None
    info = MediaInfo(
        MediaKind.AUDIO, facts.duration, title=title, performer=performer, thumbnail=cover
    )
    return await _as_is(path, info)


async def _video(path: Path, facts: Facts, plan: Plan) -> Prepared:
    kind, streaming = plan.kind, False
    if plan.mp4:
        # As it is only when it is an .mp4 already (a .3gp or .m4v is remuxed into one too).
        named = path.suffix.lower() == ".mp4"
        if named and is_mp4(facts) and await asyncio.to_thread(moov_first, path):
            streaming = True
        elif (remuxed := await to_faststart_mp4(path, facts)) is not None:
            path, streaming = remuxed, True
        elif not is_mp4(facts):  # an mkv Telegram would not play: the file as it is
            return await _as_is(path, MediaInfo())
    video = facts.video
    duration = facts.duration or 1
    thumb = await thumbnail(path, thumb_path(path), at=min(1.0, duration / 3), track=video)
    info = MediaInfo(
        kind,
        facts.duration,
        video.width if video else None,
        video.height if video else None,
        thumbnail=thumb,
        streaming=streaming and kind is MediaKind.VIDEO,
    )
    return await _as_is(path, info)


async def _as_is(path: Path, info: MediaInfo) -> Prepared:
    size = (await asyncio.to_thread(path.stat)).st_size
    log.info(
        "media_prepared kind=%s duration=%s streaming=%s", info.kind, info.duration, info.streaming
    )
    return Prepared(path, size, info)
