"""Reads a Bot API request's parameters from the query, a JSON, urlencoded or multipart body.

File parts are hashed while they stream in, so a test can upload gigabytes without the fake
holding more than one chunk in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import mimetypes
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import BodyPartReader, web

from tests.fakes.atoms import AtomScanner
from tests.fakes.errors import ApiError
from tests.fakes.records import UploadedFile

CHUNK = 256 * 1024
MULTIPART_SLACK = 1024 * 1024  # room for the other fields and boundaries in Content-Length

JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "scope",
        "commands",
        "link_preview_options",
        "reply_parameters",
        "media",
        "message_ids",
        "results",
        "button",
    }
)
INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "user_id",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "width",
        "height",
        "duration",
        "cache_time",
    }
)
FLOAT_FIELDS = frozenset({"timeout"})
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "supports_streaming",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "revoke_messages",
    }
)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """The decoded parameters, the uploaded parts by part name, and what went wrong reading."""

    params: dict[str, Any]
    files: dict[str, UploadedFile]
    too_large: bool = False
    error: str | None = None


def decode_value(name: str, value: object) -> object:
    """Turn a form field's string into the type the Bot API gives that parameter."""
    if not isinstance(value, str):
        return value
    try:
        if name in JSON_FIELDS:
            return json.loads(value)
        if name in INT_FIELDS:
            return int(value)
        if name in FLOAT_FIELDS:
            number = float(value)
            return int(number) if number.is_integer() else number
    except ValueError:
        return value
    if name in BOOL_FIELDS and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value


def decode_params(raw: dict[str, object]) -> dict[str, Any]:
    """Decode every field of a request (see `decode_value`)."""
    return {name: decode_value(name, value) for name, value in raw.items()}


async def parse_request(
    request: web.Request,
    limit: int,
    raw: dict[str, object],
    save_dir: Path | None = None,
    rate: float | None = None,
    began: Callable[[str], None] | None = None,
) -> ParsedRequest:
    """Read every parameter of `request`; file parts larger than `limit` mark it too large.

    Raw values land in `raw` as they are read, so a caller whose client hung up mid-request
    still knows what arrived. With `save_dir`, each uploaded part is also written there; with
    `rate`, file parts are read at most that many bytes a second. `began` is told a file
    part's name once its first bytes have arrived.
    """
    raw.update(request.query)
    files: dict[str, UploadedFile] = {}
    too_large = False
    error = None
    if request.content_type == "application/json":
        body = await request.read()
        try:
            loaded = json.loads(body) if body.strip() else {}
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            raw.update(loaded)
        else:
            error = "Bad Request: can't parse JSON object"
    elif request.content_type == "application/x-www-form-urlencoded":
        raw.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    elif request.content_type.startswith("multipart/"):
        length = request.content_length
        too_large = length is not None and length > limit + MULTIPART_SLACK
        too_large = await _read_multipart(
            request,
            limit,
            raw,
            files,
            too_large=too_large,
            save_dir=save_dir,
            rate=rate,
            began=began,
        )
    else:
        await _drain(request)
    params = decode_params(raw)
    if too_large:
        files.clear()
    resolve_attachments(params, files)
    return ParsedRequest(params, files, too_large, error)


async def _read_multipart(
    request: web.Request,
    limit: int,
    raw: dict[str, object],
    files: dict[str, UploadedFile],
    *,
    too_large: bool,
    save_dir: Path | None,
    rate: float | None,
    began: Callable[[str], None] | None = None,
) -> bool:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            await part.release()
            continue
        name = part.name or ""
        content_type = part.headers.get("Content-Type") or "text/plain"
        if part.filename is None and content_type.startswith("text/plain"):
            raw[name] = await part.text()
            continue
        if too_large:
            await part.release()
            continue
        uploaded = await _hash_part(part, name, limit, save_dir, rate, began)
        if uploaded is None:
            too_large = True
        else:
            files[name] = uploaded
    return too_large


async def _hash_part(
    part: BodyPartReader,
    name: str,
    limit: int,
    save_dir: Path | None,
    rate: float | None,
    on_begin: Callable[[str], None] | None = None,
) -> UploadedFile | None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    digest = hashlib.sha256()
    atoms = AtomScanner()
    size = 0
    saved = None
    with contextlib.ExitStack() as stack:
        out = None
        if save_dir is not None:
            saved = save_dir / f"{secrets.token_hex(6)}-{name}"
            out = stack.enter_context(saved.open("wb"))  # a test's small files: written inline
        while chunk := await part.read_chunk(CHUNK):
            if not size and on_begin is not None:
                on_begin(name)
            size += len(chunk)
            if size > limit:
                await part.release()
                return None
            digest.update(chunk)
            atoms.feed(chunk)
            if out is not None:
                out.write(chunk)
            if rate and (lag := began + size / rate - loop.time()) > 0:
                await asyncio.sleep(lag)  # a slow link to Telegram: read no faster than `rate`
    content_type = part.headers.get("Content-Type")
    return UploadedFile(
        name, part.filename, content_type, size, digest.hexdigest(), atoms.atoms, saved
    )


async def _drain(request: web.Request) -> None:
    while await request.content.readany():
        pass


def resolve_attachments(params: dict[str, Any], files: dict[str, UploadedFile]) -> None:
    """Move parts referenced as `attach://name` under the parameter that references them."""
    for name, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = files.pop(value.removeprefix("attach://"), None)
            if part is not None:
                files[name] = replace(part, field=name)


def local_path(value: str) -> Path | None:
    """The path a local-mode Bot API server would read for a `file://` URI or absolute path."""
    if value.startswith("file://"):
        return Path(unquote(urlsplit(value).path))
    if value.startswith("/"):
        return Path(value)
    return None


def hash_local_file(field: str, path: Path, limit: int) -> UploadedFile | None:
    """Hash a file from disk in chunks (blocking: run it in a thread); None if it is missing."""
    if not path.is_file():
        return None
    if path.stat().st_size > limit:
        raise ApiError(400, "Bad Request: file is too big")
    digest = hashlib.sha256()
    atoms = AtomScanner()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
            atoms.feed(chunk)
    content_type = mimetypes.guess_type(path.name)[0]
    return UploadedFile(field, path.name, content_type, size, digest.hexdigest(), atoms.atoms)
