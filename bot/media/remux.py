"""Video into an MP4 with its index first, by copying its streams: no re-encoding.

`ffmpeg -c copy -movflags +faststart` writes the streams once more (about as fast as the disk)
and then moves the moov atom before the media, so a player starts at once. Only the first
picture and the first sound are kept: subtitles, fonts and other tracks an MP4 cannot carry
would make the remux fail.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from bot.media.facts import Facts
from bot.media.mp4 import moov_first
from bot.media.tools import NO_VIDEO_DECODE, produce

log = logging.getLogger(__name__)

# The remux's own bound, on top of the job's deadline: a minute, plus the file at 10 MB/s (a
# slow disk copies faster; a remux slower than this is stuck on something odd in the file).
REMUX_BASE_S = 60.0
REMUX_BYTES_PER_S = 10 * 1024 * 1024


async def to_faststart_mp4(path: Path, facts: Facts) -> Path | None:
    """`path` remuxed into `{stem}.mp4` beside it, which replaces it (the original is removed);
    None, with `path` as it was, when ffmpeg could not do it."""
    video, audio = facts.video, facts.audio
    if video is None:
        return None
    target = path.with_suffix(".mp4")
    partial = path.with_name(f"{path.stem}.remux.mp4")
    # Copied, not decoded; only where the container does not say its size is a frame decoded.
    decode = NO_VIDEO_DECODE if facts.sized else []
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", *decode, "-i", str(path)]
    args += ["-map", f"0:{video.index}"]
    if audio is not None:
        args += ["-map", f"0:{audio.index}"]
    args += ["-c", "copy", "-dn", "-sn"]
    if video.codec == "hevc":
        args += ["-tag:v", "hvc1"]  # the tag Apple's players want for HEVC in an MP4
    args += ["-movflags", "+faststart", "-f", "mp4"]
    size = (await asyncio.to_thread(path.stat)).st_size
    started = time.monotonic()
    limit = REMUX_BASE_S + size / REMUX_BYTES_PER_S
    made = await produce(
        args,
        source=path,
        partial=partial,
        target=target,
        limit=limit,
        event="media_remux",
        step="remux",
        check=moov_first,
    )
    if not made:
        return None
    log.info(
        "media_remuxed container=%s bytes=%d seconds=%.2f",
        ",".join(sorted(facts.formats)),
        size,
        time.monotonic() - started,
    )
    return target
