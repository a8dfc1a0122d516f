"""A plain download cut short by a restart continues where it stopped (RFC 9110 ranges).

While a large file streams in, a small note beside it in the job's folder says which URL it
came from, how large it is and what identified that version of it (a strong ETag, else the
Last-Modified date). The next run asks for the rest with `Range` and `If-Range`: a server that
still has the same version answers 206 with the rest; one whose file changed (or that ignores
ranges) answers 200 with the whole new file, which then replaces the old part from byte 0. A
file with neither validator is never continued: the bytes on disk could belong to another
version. yt-dlp continues its own `.part` files (`continuedl`); they are kept here too.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

NOTE = ".resume.json"
MIN_BYTES = 1024 * 1024  # a smaller file is fetched again whole: the note would cost more
_YTDLP_PARTS = (".part", ".ytdl")  # yt-dlp's partial files and its fragment state


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a download stands: `have` bytes of `total` of `url`'s version `validator`, in
    `name` inside the job's folder."""

    url: str
    name: str
    validator: str
    total: int
    have: int = 0

    def request_headers(self) -> dict[str, str]:
        return {"Range": f"bytes={self.have}-", "If-Range": self.validator}

    def matches(self, status: int, content_range: str | None) -> bool:
        """Whether an answer is exactly the rest of this file."""
        return status == 206 and content_range == (
            f"bytes {self.have}-{self.total - 1}/{self.total}"
        )


def validator_of(headers: Mapping[str, str]) -> str | None:
    """The header that identifies this version of a file for If-Range: a strong ETag, else
    Last-Modified (a weak ETag may not be used for ranges); None when there is neither."""
    etag = headers.get("etag", "").strip()
    if etag.startswith('"') and etag.endswith('"') and len(etag) > 1:
        return etag
    modified = headers.get("last-modified", "").strip()
    return modified or None


def load_note(folder: Path, url: str) -> ResumePoint | None:
    """The point to continue `url` from, if the folder holds part of it; else None."""
    try:
        raw = json.loads((folder / NOTE).read_text())
        point = ResumePoint(
            str(raw["url"]), str(raw["name"]), str(raw["validator"]), int(raw["total"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if point.url != url or Path(point.name).name != point.name or point.name.startswith("."):
        return None
    try:
        have = (folder / point.name).stat().st_size
    except OSError:
        return None
    return replace(point, have=have) if 0 < have < point.total else None


def write_note(folder: Path, point: ResumePoint) -> None:
    """Leave the note for the next run (written whole, or not at all)."""
    partial = folder / (NOTE + ".tmp")
    fields = asdict(point)
    del fields["have"]
    partial.write_text(json.dumps(fields))
    partial.replace(folder / NOTE)


def forget_note(folder: Path) -> None:
    (folder / NOTE).unlink(missing_ok=True)


def tidy(folder: Path, url: str) -> None:
    """Make the job's folder ready for a fetch: created, and emptied of everything but what a
    resumed download can use (what a restart left after the download is no use)."""
    folder.mkdir(parents=True, exist_ok=True)
    point = load_note(folder, url)
    keep = {NOTE, point.name} if point is not None else set()
    for entry in folder.iterdir():
        if entry.name in keep or (entry.is_file() and entry.name.endswith(_YTDLP_PARTS)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
