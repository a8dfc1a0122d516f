"""What a file is (ffprobe), and small JPEG thumbnails (ffmpeg) of a video or a cover picture.

Only what is needed is decoded: ffprobe reads the facts without decoding a frame (`-skip_frame
all`; only where the container does not say a video's size is one frame decoded, within the
pixel cap), and a thumbnail is one frame from one thread. Past THUMB_MAX_PIXELS there is no
thumbnail, except from a codec ffmpeg can decode at a fraction of its size (`-lowres`, from a
keyframe): a frame of 8192 x 8192 asks a decoder for hundreds of megabytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path

from bot.media.facts import Facts, Track, read_facts
from bot.media.kinds import decide
from bot.media.tools import run_tool
from bot.model.media import MediaInfo, MediaKind

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 20.0  # one ffprobe or thumbnail run; a file that takes longer is a document
THUMB_SIDE = 320  # Telegram's limit for thumbnails, on the long side
THUMB_MAX_BYTES = 200 * 1024
_THUMB_QUALITIES = (4, 10, 20, 31)  # ffmpeg's -q:v, best first: retried until small enough
# The largest picture a thumbnail is decoded from at full size: every 4K format (4096 x 2160,
# 4096 x 2304). One 4K frame from one thread takes ffmpeg about 93 MB (docs/BENCHMARKS.md).
THUMB_MAX_PIXELS = 4096 * 2304
# Decoders that decode at 1/2, 1/4 or 1/8 of the size (`-lowres 1..3`), for a larger picture.
LOWRES_CODECS = frozenset({"mjpeg", "mpeg1video", "mpeg2video", "mpeg4", "h263"})
LOWRES_MAX = 3
_PROBE = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
# Every decoder a run opens refuses a larger frame, whatever the container claimed its size was.
_CAP = ["-max_pixels", str(THUMB_MAX_PIXELS)]
_ONE_THREAD = ["-threads", "1", "-filter_threads", "1"]


async def read(path: Path, *, timeout: float = PROBE_TIMEOUT_S) -> Facts | None:  # noqa: ASYNC109
    """ffprobe's facts about the file; None when it cannot tell (not media, missing, too slow).

    `timeout` bounds the run, which is killed when it runs out: a caller's own deadline would
    raise instead of falling back to a document.
    """
    facts = await _probe([*_PROBE, "-skip_frame", "all", str(path)], timeout)
    video = facts.video if facts is not None else None
    if video is not None and video.width is None:  # MPEG-TS and the like: a frame tells
        decoded = await _probe([*_PROBE, *_CAP, "-threads", "1", str(path)], timeout)
        if decoded is not None:
            facts = dataclasses.replace(decoded, sized=False)
    return facts


async def _probe(args: list[str], timeout: float) -> Facts | None:  # noqa: ASYNC109
    result = await run_tool(args, timeout, step="probe")
    if result is None or not result.ok:
        return None
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return None
    return read_facts(data) if isinstance(data, dict) else None


def info_of(facts: Facts) -> MediaInfo:
    """The kind and what its message shows (duration, size, tags), from the facts alone.

    `streaming` is left False: only a look at the file's atoms can tell (prepare.py does).
    """
    plan = decide(facts)
    video = facts.video
    if plan.kind in (MediaKind.VIDEO, MediaKind.ANIMATION) and video is not None:
        return MediaInfo(plan.kind, facts.duration, video.width, video.height)
    if plan.kind is MediaKind.AUDIO:
        return MediaInfo(plan.kind, facts.duration, title=facts.title, performer=facts.artist)
    return MediaInfo()


def thumb_path(path: Path) -> Path:
    return path.with_name(path.name + ".thumb.jpg")


async def thumbnail(
    source: Path,
    target: Path,
    *,
    at: float | None,
    track: Track | None,
    limit: float = PROBE_TIMEOUT_S,
) -> Path | None:
    """A JPEG of at most THUMB_SIDE pixels a side and THUMB_MAX_BYTES, from a video's frame at
    `at` seconds or from a picture (`at` None), whose size and codec `track` says (from
    ffprobe); None when none can be made, or only by decoding too large a picture."""
    how = _decoding(track)
    if how is None:
        shown = f"{track.width}x{track.height}" if track is not None else "unknown"
        log.info("media_no_thumbnail reason=too_many_pixels size=%s", shown)
        return None
    step = "thumbnail" if at is not None else "cover"
    seek = [] if at is None else ["-ss", f"{at:.2f}"]
    if at is not None and "-lowres" in how:
        seek.append("-noaccurate_seek")  # the keyframe before `at`, the only frame decoded
    scale = f"scale={THUMB_SIDE}:{THUMB_SIDE}:force_original_aspect_ratio=decrease"
    for quality in _THUMB_QUALITIES:
        args = ["ffmpeg", "-nostdin", "-v", "error", "-y", *_ONE_THREAD, *how, *seek]
        args += ["-i", str(source), "-frames:v", "1", "-vf", scale]
        args += ["-q:v", str(quality), "-f", "mjpeg", str(target)]
        result = await run_tool(args, limit, step=step)
        if result is None or not result.ok:
            break
        size = await asyncio.to_thread(lambda: target.stat().st_size if target.exists() else 0)
        if 0 < size <= THUMB_MAX_BYTES:
            return target
    await asyncio.to_thread(target.unlink, missing_ok=True)
    log.debug("media_no_thumbnail")
    return None


def _decoding(track: Track | None) -> list[str] | None:
    """ffmpeg's input options to decode `track` within THUMB_MAX_PIXELS: at full size (the
    decoder refusing a larger frame than that, whatever the container said), or `-lowres` from
    a keyframe for a codec that can (refusing a larger frame than ffprobe saw); None when it
    cannot be done."""
    if track is None or not track.width or not track.height:
        return _CAP
    pixels = track.width * track.height
    if pixels <= THUMB_MAX_PIXELS:
        return _CAP
    if track.codec not in LOWRES_CODECS:
        return None
    for lowres in range(1, LOWRES_MAX + 1):
        if pixels >> (2 * lowres) <= THUMB_MAX_PIXELS:
            return ["-max_pixels", str(pixels), "-lowres", str(lowres), "-skip_frame", "nokey"]
    return None
