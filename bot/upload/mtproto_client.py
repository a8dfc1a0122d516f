"""The MTProto client: the Protocol the uploader needs, pyrogram behind it, and its factory."""

from __future__ import annotations

import contextlib
import importlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from bot.config.settings import ConfigError, Settings

SESSION_NAME = "tgfetch"
_DEFAULT_PROXY_PORTS = {"socks5": 1080, "http": 8080}

# (bytes sent, total); pyrogram awaits a coroutine function and runs a plain one in a thread.
UploadProgress = Callable[[int, int], Awaitable[None]]


class SentMedia(Protocol):
    """The file object of a sent message."""

    @property
    def file_id(self) -> str: ...


class SentMessage(Protocol):
    """The parts of pyrogram's Message an upload reads."""

    @property
    def id(self) -> int: ...
    @property
    def document(self) -> SentMedia | None: ...
    @property
    def video(self) -> SentMedia | None: ...
    @property
    def audio(self) -> SentMedia | None: ...
    @property
    def animation(self) -> SentMedia | None: ...


class MtprotoClient(Protocol):
    """The subset of pyrogram.Client the uploader uses; keywords mirror pyrogram's own."""

    @property
    def is_connected(self) -> bool: ...
    async def start(self) -> object: ...
    async def stop(self) -> object: ...
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
    ) -> SentMessage | None: ...
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
    ) -> SentMessage | None: ...
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
    ) -> SentMessage | None: ...
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
    ) -> SentMessage | None: ...


class PyrogramClient:
    """A pyrogram.Client as an MtprotoClient whose stop() also undoes a half-finished start.

    Pyrogram's own stop() refuses a client that never finished starting, and a start cut
    short leaves a session's socket and receive task behind, out of pyrogram's reach: so
    every connection the client opens is noted in `connections` and closed here. The set is
    weak, so connections pyrogram has dropped after reconnects do not pile up.
    """

    def __init__(self, client: Any, connections: weakref.WeakSet[Any]) -> None:
        self._client = client
        self._connections = connections

    @property
    def is_connected(self) -> bool:
        return bool(self._client.is_connected)

    async def start(self) -> object:
        return await self._client.start()

    async def stop(self) -> object:
        client = self._client
        if client.is_initialized:
            await client.stop()
        elif client.is_connected:
            await client.disconnect()
        else:
            # Cut short while opening the session database or creating a session.
            with contextlib.suppress(RuntimeError):  # the database was never opened
                await client.storage.close()
        for connection in list(self._connections):
            if connection.protocol is not None:  # closing ends its session's receive task
                await connection.close()
        self._connections.clear()
        client.executor.shutdown(wait=False)
        return None

    async def send_document(
        self, chat_id: int | str, document: str, **kwargs: Any
    ) -> SentMessage | None:
        message: SentMessage | None = await self._client.send_document(chat_id, document, **kwargs)
        return message

    async def send_video(
        self, chat_id: int | str, video: str, **kwargs: Any
    ) -> SentMessage | None:
        message: SentMessage | None = await self._client.send_video(chat_id, video, **kwargs)
        return message

    async def send_audio(
        self, chat_id: int | str, audio: str, **kwargs: Any
    ) -> SentMessage | None:
        message: SentMessage | None = await self._client.send_audio(chat_id, audio, **kwargs)
        return message

    async def send_animation(
        self, chat_id: int | str, animation: str, **kwargs: Any
    ) -> SentMessage | None:
        message: SentMessage | None = await self._client.send_animation(
            chat_id, animation, **kwargs
        )
        return message


def proxy_dict(url: str | None) -> dict[str, Any] | None:
    """PROXY_URL as the dict pyrogram.Client takes (socks5 or http CONNECT)."""
    if not url:
        return None
    parts = urlsplit(url)
    scheme = "socks5" if parts.scheme.lower().startswith("socks5") else "http"
    return {
        "scheme": scheme,
        "hostname": parts.hostname,
        "port": parts.port or _DEFAULT_PROXY_PORTS[scheme],
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


def pyrogram_factory(
    settings: Settings, *, connection_factory: type | None = None
) -> Callable[[], MtprotoClient]:
    """Builds the real client; `connection_factory` lets a test point pyrogram elsewhere."""
    if settings.api_id is None or settings.api_hash is None:
        raise ConfigError("config error: API_ID and API_HASH are required for MTProto uploads")
    api_id = settings.api_id
    api_hash = settings.api_hash

    def build() -> MtprotoClient:
        pyrogram = importlib.import_module("pyrogram")
        logging.getLogger("pyrogram").setLevel(logging.WARNING)
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the session database lives here
        connections: weakref.WeakSet[Any] = weakref.WeakSet()
        base = connection_factory or pyrogram.connection.Connection

        class NotedConnection(base):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                connections.add(self)

        client = pyrogram.Client(
            name=SESSION_NAME,
            api_id=api_id,
            api_hash=api_hash.get_secret_value(),
            bot_token=settings.bot_token.get_secret_value(),
            workdir=str(settings.data_dir),
            no_updates=True,
            parse_mode=pyrogram.enums.ParseMode.HTML,
            proxy=proxy_dict(settings.proxy_url),
            connection_factory=NotedConnection,
        )
        return PyrogramClient(client, connections)

    return build
