"""MtprotoUploader: one shared client, bounded starts, flood waits, and a clean close."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from pyrogram.connection import Connection
from pyrogram.errors import (
    AccessTokenInvalid,
    MediaInvalid,
    ReplyMessageIdInvalid,
    UserIsBlocked,
)
from pyrogram.storage import SQLiteStorage

from bot.config.settings import ConfigError, Settings
from bot.model.failures import DeliveryError, FailureReason
from bot.model.media import MediaInfo, MediaKind
from bot.upload.mtproto import MtprotoState, MtprotoUploader
from bot.upload.mtproto_client import (
    SESSION_NAME,
    proxy_dict,
    pyrogram_factory,
)
from bot.upload.types import Delivery
from tests.fakes.mtproto import FakeMtproto, file_factory, read_uploads

CHAT = 777


class Sleeps:
    """An injectable sleep that records what it was asked to wait, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_delivery(
    tmp_path: Path, size: int = 1_200_000, info: MediaInfo | None = None
) -> Delivery:
    path = tmp_path / f"file-{size}.bin"
    if not path.exists():
        path.write_bytes(os.urandom(size))
    return Delivery(CHAT, path, path.name, "<i>cap</i>", size, info or MediaInfo())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def settings(tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": "123456:TEST-token",
        "api_id": 12345,
        "api_hash": "0123456789abcdef0123456789abcdef",
        "data_dir": tmp_path,
    }
    return Settings(_env_file=None, **(values | extra))  # type: ignore[call-arg]


def state(uploader: MtprotoUploader) -> MtprotoState:
    """The state now (a call, so mypy does not narrow it across awaits)."""
    return uploader.state


def ignore(_current: int, _total: int) -> None:
    pass


async def test_upload_arrives_with_progress(tmp_path: Path) -> None:
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    item = make_delivery(tmp_path)
    seen: list[tuple[int, int]] = []

    delivered = await uploader.send(item, lambda c, t: seen.append((c, t)))

    assert hub.uploads[0].sha256 == sha(item.path)
    assert (hub.uploads[0].kind, hub.uploads[0].chat_id, hub.uploads[0].caption) == (
        "document",
        CHAT,
        "<i>cap</i>",
    )
    assert (delivered.route, delivered.kind) == ("mtproto", MediaKind.DOCUMENT)
    assert delivered.file_id == hub.uploads[0].file_id
    assert seen[-1] == (item.size, item.size)
    assert len(seen) == 3  # once per 512 KiB part, as pyrogram reports
    await uploader.close()


async def test_video_goes_with_its_parameters(tmp_path: Path) -> None:
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    thumb = tmp_path / "v.thumb.jpg"
    thumb.write_bytes(b"\xff\xd8jpeg")
    info = MediaInfo(
        MediaKind.VIDEO, duration=61, width=1280, height=720, thumbnail=thumb, streaming=True
    )
    sent = dataclasses.replace(make_delivery(tmp_path, 1000, info), reply_to=41)

    delivered = await uploader.send(sent, ignore)

    assert delivered.kind is MediaKind.VIDEO
    assert hub.uploads[0].params == {
        "duration": 61,
        "width": 1280,
        "height": 720,
        "thumb": str(thumb),
        "supports_streaming": True,
        "reply_to_message_id": 41,
    }
    await uploader.close()


async def test_concurrent_first_uploads_share_one_start(tmp_path: Path) -> None:
    hub = FakeMtproto()
    hub.hold_starts()
    uploader = MtprotoUploader(hub.factory)
    assert state(uploader) is MtprotoState.IDLE
    item = make_delivery(tmp_path)

    sends = [asyncio.create_task(uploader.send(item, ignore)) for _ in range(4)]
    await hub.start_entered.wait()
    assert state(uploader) is MtprotoState.STARTING
    hub.release_starts()
    results = await asyncio.gather(*sends)

    assert hub.starts == 1
    assert len(hub.clients) == 1
    assert len({r.message_id for r in results}) == 4
    assert state(uploader) is MtprotoState.CONNECTED
    assert hub.stops == 0  # never stopped between uploads
    await uploader.close()


async def test_hanging_start_times_out_and_the_next_upload_starts_again(tmp_path: Path) -> None:
    hub = FakeMtproto()
    hub.hang_next_starts(1)
    uploader = MtprotoUploader(hub.factory, start_timeout=0.05)
    item = make_delivery(tmp_path)

    with pytest.raises(DeliveryError) as caught:
        await uploader.send(item, ignore)
    assert caught.value.reason is FailureReason.UPLOAD_FAILED
    assert caught.value.detail == "MTProto start timed out"
    assert hub.clients[0].stop_count == 1  # the half-started client was discarded
    assert state(uploader) is MtprotoState.DISCONNECTED

    await uploader.send(item, ignore)
    assert hub.starts == 2
    assert len(hub.uploads) == 1
    assert state(uploader) is MtprotoState.CONNECTED
    await uploader.close()


async def test_failing_start_is_a_delivery_error_and_is_retried_later(tmp_path: Path) -> None:
    hub = FakeMtproto()
    hub.fail_next_start(AccessTokenInvalid())
    uploader = MtprotoUploader(hub.factory)
    item = make_delivery(tmp_path)

    with pytest.raises(DeliveryError, match="AccessTokenInvalid"):
        await uploader.send(item, ignore)
    assert hub.clients[0].stop_count == 1

    await uploader.send(item, ignore)
    assert hub.starts == 2
    await uploader.close()


async def test_uploads_waiting_on_a_failed_start_fail_with_it(tmp_path: Path) -> None:
    hub = FakeMtproto()
    hub.hang_next_starts(1)
    uploader = MtprotoUploader(hub.factory, start_timeout=0.05)
    item = make_delivery(tmp_path)

    results = await asyncio.gather(
        *(uploader.send(item, ignore) for _ in range(3)), return_exceptions=True
    )

    assert all(isinstance(r, DeliveryError) for r in results)
    assert hub.starts == 1  # not three starts of 30 s each in a row
    await uploader.close()


async def test_close_stops_once_and_later_uploads_fail(tmp_path: Path) -> None:
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    item = make_delivery(tmp_path)
    await uploader.send(item, ignore)
    await uploader.send(item, ignore)

    await uploader.close()
    await uploader.close()

    assert hub.stops == 1
    assert state(uploader) is MtprotoState.CLOSED
    with pytest.raises(DeliveryError) as caught:
        await uploader.send(item, ignore)
    assert caught.value.reason is FailureReason.INTERRUPTED


async def test_close_before_any_upload_starts_nothing() -> None:
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)

    await uploader.close()

    assert (hub.starts, hub.stops) == (0, 0)


async def test_disconnected_client_is_restarted(tmp_path: Path) -> None:
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    item = make_delivery(tmp_path)
    await uploader.send(item, ignore)

    hub.disconnect_all()
    assert state(uploader) is MtprotoState.DISCONNECTED
    await uploader.send(item, ignore)

    assert hub.starts == 2
    assert hub.clients[0].stop_count == 1
    assert len(hub.uploads) == 2
    await uploader.close()


async def test_flood_wait_is_waited_and_retried(tmp_path: Path) -> None:
    hub = FakeMtproto()
    sleeps = Sleeps()
    uploader = MtprotoUploader(hub.factory, sleep=sleeps)
    hub.flood_wait_next(17)

    delivered = await uploader.send(make_delivery(tmp_path), ignore)

    assert sleeps.waits == [17.0]
    assert delivered.file_id == hub.uploads[0].file_id
    await uploader.close()


async def test_flood_wait_beyond_the_limit_fails(tmp_path: Path) -> None:
    hub = FakeMtproto()
    sleeps = Sleeps()
    uploader = MtprotoUploader(hub.factory, sleep=sleeps, flood_wait_limit=60)
    hub.flood_wait_next(40, count=2)

    with pytest.raises(DeliveryError) as caught:
        await uploader.send(make_delivery(tmp_path), ignore)

    assert sleeps.waits == [40.0]  # the second wait would pass the limit
    assert caught.value.params == {"retry_after": 40.0}
    await uploader.close()


async def test_blocked_user_is_unavailable(tmp_path: Path) -> None:
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    hub.raise_next(UserIsBlocked())

    with pytest.raises(DeliveryError) as caught:
        await uploader.send(make_delivery(tmp_path), ignore)

    assert caught.value.reason is FailureReason.CHAT_UNAVAILABLE
    await uploader.close()


async def test_refused_video_falls_back_to_document(tmp_path: Path) -> None:
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    hub.raise_next(MediaInvalid())
    info = MediaInfo(MediaKind.VIDEO, duration=3, width=10, height=10)

    delivered = await uploader.send(make_delivery(tmp_path, 1000, info), ignore)

    assert delivered.kind is MediaKind.DOCUMENT
    assert [u.kind for u in hub.uploads] == ["document"]
    await uploader.close()


async def test_a_reply_to_a_vanished_message_is_sent_without_it(tmp_path: Path) -> None:
    """The user deleted the link's message: the file still comes, as a video, not a reply
    (the Bot API's allow_sending_without_reply)."""
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    hub.raise_next(ReplyMessageIdInvalid())
    info = MediaInfo(MediaKind.VIDEO, duration=3, width=10, height=10)
    sent = dataclasses.replace(make_delivery(tmp_path, 1000, info), reply_to=5)

    delivered = await uploader.send(sent, ignore)

    assert delivered.kind is MediaKind.VIDEO
    assert [(u.kind, u.params["reply_to_message_id"]) for u in hub.uploads] == [("video", None)]
    await uploader.close()


async def test_file_factory_records_json_lines(tmp_path: Path) -> None:
    factory = file_factory(settings(tmp_path))
    uploader = MtprotoUploader(factory)
    item = make_delivery(tmp_path)

    await uploader.send(item, ignore)
    await uploader.close()

    (line,) = read_uploads(tmp_path)
    assert (line["sha256"], line["chat_id"], line["kind"]) == (sha(item.path), CHAT, "document")
    assert json.loads((tmp_path / "fake-mtproto.jsonl").read_text())["size"] == item.size


def test_the_real_factory_needs_api_id_and_hash(tmp_path: Path) -> None:
    assert callable(pyrogram_factory(settings(tmp_path)))
    with pytest.raises(ConfigError, match="API_ID"):
        pyrogram_factory(settings(tmp_path, api_id=None, api_hash=None))


def test_proxy_url_becomes_pyrogram_proxy() -> None:
    assert proxy_dict(None) is None
    assert proxy_dict("socks5h://u%40x:p@10.0.0.1:9050") == {
        "scheme": "socks5",
        "hostname": "10.0.0.1",
        "port": 9050,
        "username": "u@x",
        "password": "p",
    }
    assert proxy_dict("http://proxy.lan")["port"] == 8080  # type: ignore[index]


# --- the real pyrogram.Client against a server that accepts and stays silent ---------------


class SilentServer:
    """Accepts TCP connections and never answers; notes when the client hangs up."""

    def __init__(self) -> None:
        self.accepted = 0
        self.hung_up = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> SilentServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while await reader.read(65536):
                pass  # swallow pyrogram's handshake, say nothing
        except ConnectionError:
            pass
        finally:
            writer.close()
            await writer.wait_closed()
            self.hung_up.set()


def open_fds() -> set[tuple[str, str]]:
    found = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            found.add((fd.name, str(fd.readlink())))
        except OSError:  # the fd listing itself, closed by now
            continue
    return found


async def store_session(workdir: Path) -> None:
    """A session database as a bot's first run leaves it: pyrogram skips creating a key."""
    storage = SQLiteStorage(SESSION_NAME, workdir=workdir)
    await storage.open()
    await storage.dc_id(2)
    await storage.api_id(12345)
    await storage.test_mode(False)
    await storage.auth_key(os.urandom(256))
    await storage.user_id(123456)
    await storage.is_bot(True)
    await storage.date(0)
    await storage.server_address("149.154.167.51")
    await storage.port(443)
    await storage.save()
    await storage.close()


@pytest.mark.parametrize("stored_session", [False, True], ids=["first-run", "stored-session"])
async def test_real_pyrogram_start_against_silent_server_times_out_cleanly(
    tmp_path: Path, stored_session: bool
) -> None:
    """Pyrogram retries a silent server for about a minute; the uploader gives up cleanly.

    On a first run pyrogram hangs creating an auth key; with a stored session it hangs in the
    session's first ping, where a cut-short start used to leave a socket and a task behind.
    """
    if stored_session:
        await store_session(tmp_path)
    async with SilentServer() as server:

        class LocalConnection(Connection):  # type: ignore[misc]
            """Sends every connection pyrogram makes to the silent server."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs.update(server_address="127.0.0.1", port=server.port)
                super().__init__(*args, **kwargs)

        factory = pyrogram_factory(settings(tmp_path), connection_factory=LocalConnection)
        uploader = MtprotoUploader(factory, start_timeout=1)
        tasks_before = asyncio.all_tasks()
        fds_before = open_fds()

        # The uploader's own start timeout says so, not pyrogram giving up after its minute
        # of auth retries, each of which would be another connection to the server.
        with pytest.raises(DeliveryError, match="MTProto start timed out"):
            await uploader.send(make_delivery(tmp_path, 1000), ignore)
        assert server.accepted == 1
        async with asyncio.timeout(5):
            await server.hung_up.wait()  # pyrogram's socket was closed, not left open
        assert asyncio.all_tasks() == tasks_before
        leaked = open_fds() - fds_before
        assert leaked == set()  # neither a socket nor the session database
        assert state(uploader) is MtprotoState.DISCONNECTED
        await uploader.close()


async def test_the_message_waits_for_the_fence_after_the_last_part(tmp_path: Path) -> None:
    # A worker's claim is confirmed there (bot/remote/claim.py): until then no message exists.
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    reached, gate = asyncio.Event(), asyncio.Event()

    async def fence() -> None:
        reached.set()
        await gate.wait()

    item = dataclasses.replace(make_delivery(tmp_path), fence=fence)
    sending = asyncio.create_task(uploader.send(item, ignore))
    await asyncio.wait_for(reached.wait(), 10)
    assert not hub.uploads  # every part is up, the message not made
    gate.set()
    await sending
    assert len(hub.uploads) == 1
    await uploader.close()
