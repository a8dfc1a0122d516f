"""A fake MTProto client: records uploads, counts starts and stops, misbehaves on request.

`FakeMtproto` is what a test holds: its `factory` makes `FakeMtprotoClient`s (one per start of
MtprotoUploader) that share its records and its queued misbehaviour. `file_factory` is the
factory tests/e2e/seamed_main.py gives the daemon (TEST_MTPROTO=file) so the
daemon subprocess writes each upload as one JSON line to `DATA_DIR/fake-mtproto.jsonl`.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyrogram.errors import FloodWait

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.upload.mtproto_client import UploadProgress

PART_SIZE = 512 * 1024  # pyrogram's upload part size; progress is reported once per part
FILE_NAME = "fake-mtproto.jsonl"


@dataclass(frozen=True, slots=True)
class FakeFile:
    """The file object of a sent message."""

    file_id: str


@dataclass(frozen=True, slots=True)
class FakeMessage:
    """What pyrogram's send_* return: the message id and the file under its kind."""

    id: int
    document: FakeFile | None = None
    video: FakeFile | None = None
    audio: FakeFile | None = None
    animation: FakeFile | None = None


@dataclass(frozen=True, slots=True)
class FakeUpload:
    """One upload the fake received, with the file's hash as read from disk."""

    kind: str
    chat_id: int | str
    caption: str
    file_name: str | None
    size: int
    sha256: str
    message_id: int
    file_id: str
    params: dict[str, Any] = field(default_factory=dict)


class FakeMtproto:
    """The fake's shared state: every client's starts, stops and uploads, and queued faults."""

    def __init__(self, *, record_to: Path | None = None) -> None:
        self.record_to = record_to
        self.clients: list[FakeMtprotoClient] = []
        self.uploads: list[FakeUpload] = []
        self.starts = 0
        self.stops = 0
        self.start_entered = asyncio.Event()  # set when a start begins (hanging or not)
        self._hanging_starts = 0
        self._start_errors: deque[BaseException] = deque()
        self._gate: asyncio.Event | None = None
        self._faults: deque[BaseException] = deque()
        self._message_id = 0

    def factory(self) -> FakeMtprotoClient:
        """A new client bound to this fake (what MtprotoUploader's factory returns)."""
        client = FakeMtprotoClient(self)
        self.clients.append(client)
        return client

    def hang_next_starts(self, count: int = 1) -> None:
        """The next `count` starts never finish (until cancelled)."""
        self._hanging_starts += count

    def fail_next_start(self, error: BaseException) -> None:
        """The next start raises `error` (e.g. ConnectionError, pyrogram's AccessTokenInvalid)."""
        self._start_errors.append(error)

    def hold_starts(self) -> None:
        """Starts wait until `release_starts()`, so a test can act while one is in progress."""
        self._gate = asyncio.Event()

    def release_starts(self) -> None:
        """Let held starts finish."""
        if self._gate is not None:
            self._gate.set()
        self._gate = None

    def flood_wait_next(self, seconds: int, count: int = 1) -> None:
        """The next `count` uploads raise pyrogram's real FloodWait with `.value == seconds`."""
        for _ in range(count):
            self._faults.append(FloodWait(value=seconds))

    def raise_next(self, error: BaseException) -> None:
        """The next upload raises `error` (e.g. pyrogram.errors.MediaInvalid())."""
        self._faults.append(error)

    def disconnect_all(self) -> None:
        """Every client drops its connection, as after a network failure it gave up on."""
        for client in self.clients:
            client.connected = False

    async def _start(self) -> None:
        self.starts += 1
        self.start_entered.set()
        if self._start_errors:
            raise self._start_errors.popleft()
        if self._hanging_starts:
            self._hanging_starts -= 1
            await asyncio.Event().wait()
        if self._gate is not None:
            await self._gate.wait()

    async def _upload(
        self,
        kind: str,
        chat_id: int | str,
        path: str,
        caption: str,
        file_name: str | None,
        progress: UploadProgress | None,
        params: dict[str, Any],
    ) -> FakeMessage:
        if self._faults:
            raise self._faults.popleft()
        size, sha256 = await _read_parts(Path(path), progress)
        self._message_id += 1
        file_id = f"fake-{kind}-{secrets.token_urlsafe(12)}"
        upload = FakeUpload(
            kind, chat_id, caption, file_name, size, sha256, self._message_id, file_id, params
        )
        self.uploads.append(upload)
        if self.record_to is not None:
            line = json.dumps(asdict(upload), sort_keys=True) + "\n"
            await asyncio.to_thread(_append, self.record_to, line)
        return FakeMessage(self._message_id, **{kind: FakeFile(file_id)})


class FakeMtprotoClient:
    """Implements bot.upload.mtproto_client.MtprotoClient against a FakeMtproto."""

    def __init__(self, hub: FakeMtproto) -> None:
        self.hub = hub
        self.connected = False
        self.start_count = 0
        self.stop_count = 0

    @property
    def is_connected(self) -> bool:
        return self.connected

    async def start(self) -> object:
        if self.connected:
            raise ConnectionError("Client is already connected")  # as pyrogram says
        self.start_count += 1
        await self.hub._start()
        self.connected = True
        return self

    async def stop(self) -> object:
        self.stop_count += 1
        self.hub.stops += 1
        self.connected = False
        return self

    def _check(self) -> None:
        if not self.connected:
            raise ConnectionError("Client has not been started yet")  # as pyrogram says

    async def send_document(
        self,
        chat_id: int | str,
        document: str,
        *,
        thumb: str | None = None,
        caption: str = "",
        file_name: str | None = None,
        force_document: bool | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        progress: UploadProgress | None = None,
    ) -> FakeMessage:
        self._check()
        params = {
            "thumb": thumb,
            "force_document": force_document,
            "reply_to_message_id": reply_to_message_id,
        }
        if message_thread_id is not None:
            params["message_thread_id"] = message_thread_id
        return await self.hub._upload(
            "document", chat_id, document, caption, file_name, progress, params
        )

    async def send_video(
        self,
        chat_id: int | str,
        video: str,
        *,
        caption: str = "",
        duration: int = 0,
        width: int = 0,
        height: int = 0,
        thumb: str | None = None,
        file_name: str | None = None,
        supports_streaming: bool = True,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        progress: UploadProgress | None = None,
    ) -> FakeMessage:
        self._check()
        params = {
            "duration": duration,
            "width": width,
            "height": height,
            "thumb": thumb,
            "supports_streaming": supports_streaming,
            "reply_to_message_id": reply_to_message_id,
        }
        if message_thread_id is not None:
            params["message_thread_id"] = message_thread_id
        return await self.hub._upload(
            "video", chat_id, video, caption, file_name, progress, params
        )

    async def send_audio(
        self,
        chat_id: int | str,
        audio: str,
        *,
        caption: str = "",
        duration: int = 0,
        performer: str | None = None,
        title: str | None = None,
        thumb: str | None = None,
        file_name: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        progress: UploadProgress | None = None,
    ) -> FakeMessage:
        self._check()
        params = {
            "duration": duration,
            "performer": performer,
            "title": title,
            "thumb": thumb,
            "reply_to_message_id": reply_to_message_id,
        }
        if message_thread_id is not None:
            params["message_thread_id"] = message_thread_id
        return await self.hub._upload(
            "audio", chat_id, audio, caption, file_name, progress, params
        )

    async def send_animation(
        self,
        chat_id: int | str,
        animation: str,
        *,
        caption: str = "",
        duration: int = 0,
        width: int = 0,
        height: int = 0,
        thumb: str | None = None,
        file_name: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        progress: UploadProgress | None = None,
    ) -> FakeMessage:
        self._check()
        params = {
            "duration": duration,
            "width": width,
            "height": height,
            "thumb": thumb,
            "reply_to_message_id": reply_to_message_id,
        }
        if message_thread_id is not None:
            params["message_thread_id"] = message_thread_id
        return await self.hub._upload(
            "animation", chat_id, animation, caption, file_name, progress, params
        )


async def _read_parts(path: Path, progress: UploadProgress | None) -> tuple[int, str]:
    """Hash the file part by part, reporting progress after each part as pyrogram does."""
    digest = hashlib.sha256()
    size = await asyncio.to_thread(lambda: path.stat().st_size)
    if size == 0:
        raise ValueError("File size equals to 0 B")  # pyrogram's own check
    with path.open("rb") as fp:  # pyrogram reads its parts on the event loop too
        done = 0
        while chunk := fp.read(PART_SIZE):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                await _call_progress(progress, done, size)
    return size, digest.hexdigest()


async def _call_progress(progress: Any, current: int, total: int) -> None:
    # pyrogram awaits a coroutine function and runs anything else in its executor.
    if inspect.iscoroutinefunction(progress):
        await progress(current, total)
    else:
        await asyncio.to_thread(progress, current, total)


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fp:
        fp.write(line)


def file_factory(settings: Settings) -> Callable[[], FakeMtprotoClient]:
    """The MTProto seam for end-to-end tests: uploads go to DATA_DIR/fake-mtproto.jsonl."""
    return FakeMtproto(record_to=settings.data_dir / FILE_NAME).factory


def read_uploads(data_dir: Path) -> list[dict[str, Any]]:
    """The uploads a daemon using `file_factory` recorded, oldest first."""
    path = data_dir / FILE_NAME
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


__all__ = [
    "FakeFile",
    "FakeMessage",
    "FakeMtproto",
    "FakeMtprotoClient",
    "FakeUpload",
    "file_factory",
    "read_uploads",
]
