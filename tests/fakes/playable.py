"""What the fake Bot API checks of an uploaded video when asked to: an MP4 that plays (ffprobe
reads its streams and its duration) and lasts about as long as the call says."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.fakes.errors import ApiError
from tests.fakes.records import UploadedFile

DURATION_SLACK_S = 1.0  # the call's whole seconds against the file's own duration
NOT_PLAYABLE = "Bad Request: VIDEO_FILE_INVALID"


async def probe(upload: UploadedFile) -> dict[str, Any] | None:
    """ffprobe's format and streams of the saved upload; None when it cannot read it."""
    if upload.saved is None:
        return None
    args = ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams"]
    process = await asyncio.create_subprocess_exec(
        *args,
        str(upload.saved),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        return None
    data: dict[str, Any] = json.loads(out)
    return data


async def check_video(upload: UploadedFile, duration: object) -> None:
    """Refuse (400) a video that is not a playable MP4 of about `duration` seconds."""
    data = await probe(upload)
    if data is None:
        raise ApiError(400, NOT_PLAYABLE)
    fmt = data.get("format", {})
    streams = data.get("streams", [])
    is_mp4 = "mp4" in str(fmt.get("format_name", ""))
    has_video = any(s.get("codec_type") == "video" for s in streams)
    seconds = float(fmt.get("duration") or 0)
    said = float(duration) if isinstance(duration, int | float) else None
    if not (is_mp4 and has_video and seconds > 0):
        raise ApiError(400, NOT_PLAYABLE)
    if said is not None and abs(said - seconds) > DURATION_SLACK_S:
        raise ApiError(400, f"{NOT_PLAYABLE}: {seconds:.2f} s, the call says {said} s")
