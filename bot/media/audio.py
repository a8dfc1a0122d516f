"""Sound for sendAudio: the audio track alone, tagged with its title and performer, with the
page's picture as its cover.

AAC goes into an M4A as it is and MP3 stays MP3 (copied, no quality lost); any other codec
(Opus, Vorbis, FLAC...) is encoded to AAC, because sendAudio takes MP3 and M4A only. One
ffmpeg run does it all, killed if the job stops.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from bot.media.facts import Facts
from bot.media.tools import NO_VIDEO_DECODE, produce

log = logging.getLogger(__name__)

COPIED_TO_M4A = frozenset({"aac", "alac"})
AAC_BITRATE = "160k"
TAG_MAX_CHARS = 256
# The run's own bound, on top of the job's deadline: a minute, plus the sound at 5x real time
# (copying takes moments; AAC encodes at 50-100x on one core).
AUDIO_BASE_S = 60.0
AUDIO_SPEED = 5.0


async def tagged_audio(
    path: Path,
    facts: Facts,
    *,
    title: str | None,
    performer: str | None,
    cover: Path | None,
) -> Path | None:
    """The file's sound as `{stem}.m4a` (or `.mp3`) beside it, tagged, replacing the file;
    None, with `path` as it was, when ffmpeg could not make it."""
    audio = facts.audio
    if audio is None:
        return None
    mp3 = audio.codec == "mp3"
    suffix = ".mp3" if mp3 else ".m4a"
    partial = path.with_name(f"{path.stem}.tagged{suffix}")
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", *NO_VIDEO_DECODE, "-i", str(path)]
    if cover is not None:
        args += ["-i", str(cover)]  # our own small JPEG (probe.py)
    args += ["-map", f"0:{audio.index}"]
    if cover is not None:
        args += ["-map", "1:v:0", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
    copied = mp3 or audio.codec in COPIED_TO_M4A
    args += ["-c:a", "copy"] if copied else ["-c:a", "aac", "-b:a", AAC_BITRATE]
    args += ["-map_metadata", "-1"]  # the source's own tags ("master", an encoder's name) go
    for key, value in (("title", title), ("artist", performer)):
        if value:
            args += ["-metadata", f"{key}={value[:TAG_MAX_CHARS]}"]
    if mp3:
        args += ["-id3v2_version", "3", "-f", "mp3"]
    else:
        args += ["-movflags", "+faststart", "-f", "ipod"]
    started = time.monotonic()
    target = path.with_suffix(suffix)
    limit = AUDIO_BASE_S + (facts.seconds or 0) / AUDIO_SPEED
    made = await produce(
        args,
        source=path,
        partial=partial,
        target=target,
        limit=limit,
        event="media_audio",
        step="audio",
    )
    if not made:
        return None
    log.info(
        "media_audio_tagged codec=%s copied=%s cover=%s seconds=%.2f",
        audio.codec,
        copied,
        cover is not None,
        time.monotonic() - started,
    )
    return target
