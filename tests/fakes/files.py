"""The fake Bot API's file registry: issues file_ids and builds Telegram's file objects."""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

from tests.fakes.errors import ApiError
from tests.fakes.records import FileRecord, UploadedFile

GET_FILE_LIMIT = 20 * 1024 * 1024
_PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        "document": "BQACAgIAAxkDAAI",
        "video": "BAACAgIAAxkDAAI",
        "audio": "CQACAgIAAxkDAAI",
        "animation": "CgACAgIAAxkDAAI",
        "photo": "AgACAgIAAxkDAAI",
        "voice": "AwACAgIAAxkDAAI",
        "thumbnail": "AAMCAgADGQMAAg",
    }
)


def _int(params: dict[str, Any], name: str, default: int = 0) -> int:
    value = params.get(name, default)
    return int(value) if isinstance(value, int | float) else default


def _str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and value else None


class FileStore:
    """Every file_id the fake issued, by id."""

    def __init__(self, *, local_mode: bool) -> None:
        self._local_mode = local_mode
        self._records: dict[str, FileRecord] = {}
        # Files users sent (push_document): file_id -> (file_path, bytes), served under /file/.
        self.incoming: dict[str, tuple[str, bytes, str]] = {}

    def add_incoming(self, content: bytes, name: str, size: int | None = None) -> dict[str, Any]:
        """A document a user sends; `size` is what Telegram announces (default: the real one)."""
        file_id, unique_id = self._new_ids("document")
        path = f"documents/file_{len(self.incoming)}{PurePosixPath(name).suffix}"
        self.incoming[file_id] = (path, content, unique_id)
        return {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": name,
            "mime_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "file_size": len(content) if size is None else size,
        }

    def incoming_bytes(self, path: str) -> bytes | None:
        return next((data for p, data, _ in self.incoming.values() if p == path), None)

    def get(self, file_id: str) -> FileRecord | None:
        """The record of a file_id this fake issued, if it did."""
        return self._records.get(file_id)

    def register(
        self,
        kind: str,
        upload: UploadedFile,
        params: dict[str, Any],
        thumbnail: UploadedFile | None,
    ) -> FileRecord:
        """Issue a file_id for a fresh upload and build the object a message carries."""
        file_id, unique_id = self._new_ids(kind)
        base: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_size": upload.size,
        }
        name = upload.filename
        guessed = mimetypes.guess_type(name)[0] if name else None
        mime = guessed or upload.content_type or "application/octet-stream"
        obj: dict[str, Any]
        if kind == "photo":
            obj = {
                **base,
                "width": _int(params, "width", 800),
                "height": _int(params, "height", 600),
            }
        elif kind in {"video", "animation"}:
            obj = {
                "duration": _int(params, "duration"),
                "width": _int(params, "width"),
                "height": _int(params, "height"),
                "file_name": name,
                "mime_type": mime,
                **base,
            }
        elif kind == "audio":
            obj = {
                "duration": _int(params, "duration"),
                "performer": _str(params, "performer"),
                "title": _str(params, "title"),
                "file_name": name,
                "mime_type": mime,
                **base,
            }
        elif kind == "voice":
            obj = {"duration": _int(params, "duration"), "mime_type": mime, **base}
        else:
            obj = {"file_name": name, "mime_type": mime, **base}
        if thumbnail is not None and kind not in {"photo", "voice"}:
            obj["thumbnail"] = self._thumbnail(thumbnail)
        record = FileRecord(file_id, kind, {k: v for k, v in obj.items() if v is not None}, upload)
        self._records[file_id] = record
        return record

    def _thumbnail(self, upload: UploadedFile) -> dict[str, Any]:
        file_id, unique_id = self._new_ids("thumbnail")
        record = FileRecord(
            file_id,
            "thumbnail",
            {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "file_size": upload.size,
                "width": 320,
                "height": 180,
            },
            upload,
        )
        self._records[file_id] = record
        return dict(record.obj)

    def get_file(self, file_id: object) -> dict[str, Any]:
        """The answer to getFile."""
        if isinstance(file_id, str) and file_id in self.incoming:
            path, content, unique_id = self.incoming[file_id]
            if len(content) > GET_FILE_LIMIT:
                raise ApiError(400, "Bad Request: file is too big")
            return {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "file_size": len(content),
                "file_path": path,
            }
        record = self._records.get(file_id) if isinstance(file_id, str) else None
        if record is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if not self._local_mode and record.upload.size > GET_FILE_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        suffix = PurePosixPath(record.upload.filename or "").suffix
        return {
            "file_id": record.file_id,
            "file_unique_id": record.obj["file_unique_id"],
            "file_size": record.upload.size,
            "file_path": f"{record.kind}s/file_{len(self._records)}{suffix}",
        }

    @staticmethod
    def message_fields(kind: str, record: FileRecord) -> dict[str, Any]:
        """The keys a message carrying this file has (`photo` is a list of sizes)."""
        if kind == "photo":
            return {"photo": [dict(record.obj)]}
        if kind == "animation":
            document = {k: v for k, v in record.obj.items() if k not in {"width", "height"}}
            return {"animation": dict(record.obj), "document": document}
        return {kind: dict(record.obj)}

    @staticmethod
    def _new_ids(kind: str) -> tuple[str, str]:
        prefix = _PREFIXES.get(kind, "BQACAgIAAxkDAAI")
        return prefix + secrets.token_urlsafe(40), "AgAD" + secrets.token_urlsafe(9)
