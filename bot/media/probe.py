"""What a file is (ffprobe), and small JPEG thumbnails (ffmpeg) of a video or a cover picture."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from bot.media.facts import Facts, read_facts
from bot.media.kinds import decide
from bot.media.tools import run_tool
from bot.model.media import MediaInfo, MediaKind

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 20.0  # one ffprobe or thumbnail run; a file that takes longer is a document
THUMB_SIDE = 320  # Telegram's limit for thumbnails, on the long side
THUMB_MAX_BYTES = 200 * 1024
_THUMB_QUALITIES = (4, 10, 20, 31)  # ffmpeg's -q:v, best first: retried until small enough


async def read(path: Path, *, timeout: float = PROBE_TIMEOUT_S) -> Facts | None:  # noqa: ASYNC109
    """ffprobe's facts about the file; None when it cannot tell (not media, missing, too slow).

    `timeout` bounds the run, which is killed when it runs out: a caller's own deadline would
    raise instead of falling back to a document.
    """
    args = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    result = await run_tool([*args, str(path)], timeout)
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
    source: Path, target: Path, *, at: float | None, limit: float = PROBE_TIMEOUT_S
) -> Path | None:
    """A JPEG of at most THUMB_SIDE pixels a side and THUMB_MAX_BYTES, from a video's frame at
    `at` seconds or from a picture (`at` None); None when none can be made."""
    seek = ["-ss", f"{at:.2f}"] if at is not None else []
    scale = f"scale={THUMB_SIDE}:{THUMB_SIDE}:force_original_aspect_ratio=decrease"
    for quality in _THUMB_QUALITIES:
        args = ["ffmpeg", "-nostdin", "-v", "error", "-y", *seek, "-i", str(source)]
        args += ["-frames:v", "1", "-vf", scale, "-q:v", str(quality), "-f", "mjpeg", str(target)]
        result = await run_tool(args, limit)
        if result is None or not result.ok:
            break
        size = await asyncio.to_thread(lambda: target.stat().st_size if target.exists() else 0)
        if 0 < size <= THUMB_MAX_BYTES:
            return target
    await asyncio.to_thread(target.unlink, missing_ok=True)
    log.debug("media_no_thumbnail")
    return None
