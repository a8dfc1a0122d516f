"""File names and folders for downloads: sanitized, collision-free, inside the job's folder."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from email.message import Message
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.i18n.formats import clean_text

MAX_NAME_BYTES = 120
_UNSAFE = re.compile(r'[/\\:*?"<>|]+')


def sanitize_filename(name: str, default: str = "file") -> str:
    """A name safe on any filesystem and in a chat: no separators, control or bidi
    characters, not hidden."""
    name = clean_text(unicodedata.normalize("NFC", name))
    name = _UNSAFE.sub("_", name).strip(" ._")
    if not name:
        name = default
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = name, ""
    ext_part = f".{ext}" if ext else ""
    budget = MAX_NAME_BYTES - len(ext_part.encode())
    stem_bytes = stem.encode()[:budget]
    stem = stem_bytes.decode("utf-8", errors="ignore").rstrip(" ._") or default
    return stem + ext_part


def filename_from_response(
    url: str, content_disposition: str | None, content_type: str | None
) -> str:
    """Content-Disposition's filename, else the URL path's last part, with an extension."""
    name = ""
    if content_disposition:
        msg = Message()
        msg["content-disposition"] = content_disposition
        name = msg.get_filename() or ""
    if not name:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = sanitize_filename(name, default="download")
    if "." not in name and content_type:
        ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
        name += ext
    return name


def unique_path(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/name (2)` and so on when taken."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    n = 2
    while path.exists():
        path = folder / f"{stem} ({n}){suffix}"
        n += 1
    return path
