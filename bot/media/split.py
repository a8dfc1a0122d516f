"""A file too large for Telegram cut into parts that each fit, one part at a time.

Video and audio are cut at keyframes with `ffmpeg -c copy` (no re-encoding): every part starts
on a keyframe, plays on its own and has its own duration and thumbnail; an MP4 part has its
index first. Where the cuts go is planned from the keyframes' byte positions (ffprobe's packet
list), so each part is about `budget` bytes; a part that comes out over the limit all the same
fails the job rather than reach Telegram. Any other file may be cut into plain byte ranges
(`name.001`, `name.002`...). Parts are made one at a time, when their turn comes: the disk holds
the source and one part.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.media.facts import Facts
from bot.media.kinds import is_mp4
from bot.media.probe import info_of, read, thumb_path, thumbnail
from bot.media.tools import run_tool
from bot.model.media import MediaInfo, MediaKind, Prepared

log = logging.getLogger(__name__)

MARGIN = 0.9  # a part is planned at this share of the limit: its own index and header fit
PACKETS_TIMEOUT_S = 120.0  # ffprobe's list of packets; a long film takes a few seconds
CUT_BASE_S = 60.0  # one part's ffmpeg run: a minute plus the part at 10 MB/s
CUT_BYTES_PER_S = 10 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024
MP4_SUFFIXES = frozenset({".mp4", ".m4a", ".m4v", ".mov"})


@dataclass(frozen=True, slots=True)
class Cut:
    """Part `index` of `count` (from 1): a time range of media, or a byte range of a file."""

    index: int
    count: int
    start: float | None = None  # seconds, for media; None for a byte range
    end: float | None = None  # None: to the end of the source
    offset: int = 0  # a byte range's first byte
    length: int = 0  # a byte range's length


def plan_ranges(points: list[tuple[float, int]], size: int, budget: int) -> list[float] | None:
    """The start times of the parts, from keyframes (time, byte position) in order: each part
    runs from its keyframe to the next part's, at most `budget` bytes by position. None when
    one stretch between two keyframes is larger than `budget` on its own."""
    if not points:
        return None
    starts = [points[0][0]]
    base = 0  # the first part holds the file's header too
    i = 0
    while size - base > budget:
        j = i
        while j + 1 < len(points) and points[j + 1][1] - base <= budget:
            j += 1
        if j == i:
            return None
        i = j
        starts.append(points[i][0])
        base = points[i][1]
    return starts


def media_cuts(starts: list[float]) -> list[Cut]:
    count = len(starts)
    ends: list[float | None] = [*starts[1:], None]
    return [
        Cut(n + 1, count, start, end)
        for n, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]


def byte_cuts(size: int, budget: int) -> list[Cut]:
    count = -(-size // budget)
    return [
        Cut(n + 1, count, offset=n * budget, length=min(budget, size - n * budget))
        for n in range(count)
    ]


async def plan_media(path: Path, facts: Facts, limit: int) -> list[Cut] | None:
    """Where to cut a video or an audio file into parts under `limit`; None when it cannot be
    cut so (no keyframes found, or a stretch between two of them is too large)."""
    stream = "v:0" if facts.video is not None else "a:0"
    args = ["ffprobe", "-v", "error", "-skip_frame", "all", "-select_streams", stream]
    args += ["-show_entries", "packet=pts_time,pos,flags", "-of", "csv=p=0", str(path)]
    result = await run_tool(args, PACKETS_TIMEOUT_S, step="split_plan")
    if result is None or not result.ok:
        return None
    points = _keyframes(result.stdout.decode(errors="replace"))
    size = (await asyncio.to_thread(path.stat)).st_size
    starts = plan_ranges(points, size, int(limit * MARGIN))
    if starts is None:
        log.warning("split_unplannable keyframes=%d bytes=%d", len(points), size)
        return None
    return media_cuts(starts)


def _keyframes(csv: str) -> list[tuple[float, int]]:
    """(time, byte position) of each keyframe packet, in time order."""
    points = []
    for line in csv.splitlines():
        fields = line.strip().split(",")
        if len(fields) < 3 or "K" not in fields[2]:
            continue
        try:
            points.append((float(fields[0]), int(fields[1])))
        except ValueError:
            continue  # "N/A": a packet without a time or a position
    return sorted(points)


async def cut_media(source: Path, cut: Cut, kind: MediaKind, folder: Path) -> Prepared | None:
    """Part `cut` of a video or audio file, in its own file with its duration and thumbnail;
    None when ffmpeg could not make it."""
    suffix = source.suffix.lower()
    target = folder / f"{source.stem}.part{cut.index:03d}{suffix}"
    partial = folder / f"{source.stem}.part{cut.index:03d}.partial{suffix}"
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{cut.start or 0:.6f}"]
    args += ["-i", str(source)]
    if cut.end is not None:
        args += ["-t", f"{cut.end - (cut.start or 0):.6f}"]
    args += ["-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy", "-dn", "-sn"]
    args += ["-avoid_negative_ts", "make_zero", "-map_metadata", "0"]
    if suffix in MP4_SUFFIXES:
        args += ["-movflags", "+faststart", "-f", "mp4"]
    size = (await asyncio.to_thread(source.stat)).st_size
    limit = CUT_BASE_S + size / cut.count / CUT_BYTES_PER_S
    # Written under another name, then renamed: a stop never leaves a part that looks whole.
    result = await run_tool([*args, str(partial)], limit, step="split_cut")
    if result is None or not result.ok:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
        log.warning("split_cut_failed part=%d", cut.index)
        return None
    await asyncio.to_thread(partial.replace, target)
    facts = await read(target)
    if facts is None or facts.duration is None:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        log.warning("split_part_unreadable part=%d", cut.index)
        return None
    return await _media_part(target, facts, kind)


async def _media_part(path: Path, facts: Facts, kind: MediaKind) -> Prepared:
    info = info_of(facts)
    video = facts.video
    thumb = None
    if kind in (MediaKind.VIDEO, MediaKind.ANIMATION) and video is not None:
        at = min(1.0, (facts.seconds or 1) / 3)
        thumb = await thumbnail(path, thumb_path(path), at=at, track=video)
    info = MediaInfo(
        kind,
        facts.duration,
        video.width if video else None,
        video.height if video else None,
        title=info.title,
        performer=info.performer,
        thumbnail=thumb,
        streaming=kind is MediaKind.VIDEO and is_mp4(facts),
    )
    size = (await asyncio.to_thread(path.stat)).st_size
    return Prepared(path, size, info)


async def cut_bytes(source: Path, cut: Cut, name: str, folder: Path) -> Prepared:
    """Part `cut` of any file as a byte range, named `name.001`, `name.002`..."""
    target = folder / f"{name}.{cut.index:03d}"
    await asyncio.to_thread(_copy_range, source, target, cut.offset, cut.length)
    return Prepared(target, cut.length, MediaInfo())


def _copy_range(source: Path, target: Path, offset: int, length: int) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        src.seek(offset)
        left = length
        while left > 0:
            chunk = src.read(min(_COPY_CHUNK, left))
            if not chunk:
                break
            dst.write(chunk)
            left -= len(chunk)
