"""File names and folders for downloads: sanitized, collision-free, inside the job's folder."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from bot.i18n.formats import clean_text

MAX_NAME_BYTES = 120
_UNSAFE = re.compile(r'[/\\:*?"<>|]+')
# One `; name=value` of a header (RFC 6266 section 4.1), the value a token or a quoted string.
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_ESCAPED = re.compile(r"\\(.)")


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
    name = disposition_filename(content_disposition) if content_disposition else None
    if not name:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = sanitize_filename(name, default="download")
    if "." not in name and content_type:
        ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
        name += ext
    return name


def disposition_filename(header: str) -> str | None:
    """The file name a Content-Disposition header gives: `filename*` (RFC 8187, in its own
    charset) before `filename`, wherever each stands (RFC 6266 section 4.3)."""
    params: dict[str, str] = {}
    for match in _PARAM.finditer(header):
        value = match.group(2).strip()
        if value.startswith('"') and value.endswith('"') and len(value) > 1:
            value = _ESCAPED.sub(r"\1", value[1:-1])
        params.setdefault(match.group(1).lower(), value)
    extended = params.get("filename*")
    if extended is not None and (name := _extended_value(extended)):
        return name
    return params.get("filename") or None


def _extended_value(value: str) -> str | None:
    """`charset'language'percent-encoded` decoded; None when malformed or the charset unknown."""
    charset, quote, rest = value.partition("'")
    _language, quote2, encoded = rest.partition("'")
    if not (quote and quote2 and charset):
        return None
    try:
        return unquote_to_bytes(encoded).decode(charset)
    except (LookupError, UnicodeDecodeError):
        return None


def unique_path(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/name (2)` and so on when taken."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    n = 2
    while path.exists():
        path = folder / f"{stem} ({n}){suffix}"
        n += 1
    return path
