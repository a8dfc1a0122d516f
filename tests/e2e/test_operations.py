"""Production behaviour end to end: systemd notify and watchdog, dead polling, one instance,
health and metrics, hostile links, rate limits, and updates nothing handles."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

USER = 7001


class NotifySocket:
    """A stand-in for systemd's NOTIFY_SOCKET: collects the datagrams the daemon sends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.setblocking(False)
        self._arrived = asyncio.Event()

    def start(self) -> None:
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._read)

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(4096)
            except BlockingIOError:
                return
            self.messages.append(data.decode())
            self._arrived.set()

    async def wait_for(self, field: str, timeout: float = 10) -> str:
        async with asyncio.timeout(timeout):
            while True:
                for message in self.messages:
                    if field in message.split("\n"):
                        return message
                self._arrived.clear()
                await self._arrived.wait()

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._sock.fileno())
        self._sock.close()


@pytest.fixture
async def notify(tmp_path: Path) -> AsyncIterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    sock.start()
    yield sock
    sock.close()


async def health_url(daemon: Daemon) -> str:
    """The health server's address: started on HEALTH_PORT=0, it logs the port it bound."""
    line = await daemon.wait_log("health_listening")
    found = re.search(r"host=(\S+) port=(\d+)", line)
    assert found is not None, line
    return f"http://{found[1]}:{found[2]}"


async def test_ready_then_watchdog_only_while_polling_is_healthy(
    bot_api: FakeBotApi, notify: NotifySocket, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(
        NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="400000", POLL_STALL_SECONDS="3"
    )
    await notify.wait_for("READY=1")
    await notify.wait_for("WATCHDOG=1")
    bot_api.stall_get_updates(True)
    assert await daemon.wait_exit(15) == 1  # polling dead: exit non-zero, systemd restarts
    await notify.wait_for("STOPPING=1")
    assert "polling_dead" in daemon.output
    # In the order systemd saw them (no clocks): no ping once the status said polling had
    # stalled (the pinger's own test checks the withholding tick by tick), none after
    # STOPPING, and the last status says why it stops.
    lines = [message.split("\n") for message in notify.messages]
    pings = [i for i, fields in enumerate(lines) if "WATCHDOG=1" in fields]
    stopping = next(i for i, fields in enumerate(lines) if "STOPPING=1" in fields)
    stalled = [
        i
        for i, fields in enumerate(lines)
        if any(f.startswith("STATUS=polling stalled") for f in fields)
    ]
    assert pings
    assert max(pings) < min([*stalled, stopping])
    assert "STATUS=stopping: polling_stalled" in lines[stopping]


async def test_token_revoked_while_polling_exits_non_zero(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(POLL_STALL_SECONDS="30")
    bot_api.reject_get_updates(401)
    assert await daemon.wait_exit(15) == 1
    assert "token rejected" in daemon.output


async def test_conflict_is_logged_and_retried_not_fatal(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(POLL_STALL_SECONDS="30")
    bot_api.reject_get_updates(409)
    await daemon.wait_log("poll_conflict")
    bot_api.reject_get_updates(None)
    bot_api.push_message(USER, "/start")
    await bot_api.wait_for_text(USER, "Hi", timeout=30)


async def test_second_instance_on_the_same_data_exits_before_polling(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    first = await start_daemon()
    polls = bot_api.get_updates_count
    second = await start_daemon(wait=False)
    assert await second.wait_exit(10) == 1
    assert "another tgfetch is already running" in second.output
    assert str(first.pid) in second.output
    assert len(bot_api.calls_of("getMe")) == 1
    bot_api.push_message(USER, "/start")
    await bot_api.wait_for_text(USER, "Hi")
    assert bot_api.get_updates_count > polls


async def test_health_and_metrics(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(HEALTH_PORT="0", POLL_STALL_SECONDS="60")
    bot_api.push_message(USER, media.url("/file/m.bin?size=1000"))
    await bot_api.wait_for_file(USER)
    await daemon.wait_log("job_end id=1 outcome=delivered")  # counted once the job has ended
    async with httpx.AsyncClient(base_url=await health_url(daemon)) as client:
        health = await client.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok"
        assert body["seconds_since_poll"] < 60
        assert {"version", "uptime_s", "jobs_running", "jobs_queued", "mtproto"} <= set(body)
        text = (await client.get("/metrics")).text
        assert "tgfetch_updates_total 1" in text
        assert 'tgfetch_downloads_total{outcome="delivered"} 1' in text
        assert 'tgfetch_bytes_delivered_total{route="botapi"} 1000' in text


async def test_health_says_503_when_polling_stalls(
    bot_api: FakeBotApi, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    daemon = await start_daemon(HEALTH_PORT="0", POLL_STALL_SECONDS="3")
    bot_api.stall_get_updates(True)
    async with httpx.AsyncClient(base_url=await health_url(daemon)) as client:
        status = 200
        async with asyncio.timeout(10):
            while status == 200:
                status = (await client.get("/health")).status_code
                await asyncio.sleep(0.2)
    assert status == 503
    await daemon.wait_exit(10)


@pytest.mark.parametrize(
    ("link", "answer"),
    [
        ("http://127.0.0.1:{port}/file/x.bin", "not allowed"),
        ("http://0x7f000001:{port}/file/x.bin", "not allowed"),
        ("http://2130706433:{port}/file/x.bin", "not allowed"),
        ("http://[::ffff:127.0.0.1]:{port}/file/x.bin", "not allowed"),
        ("http://169.254.169.254/latest/meta-data/", "not allowed"),
        ("http://user:secret@example.com/x", "not a valid"),
        ("http://localhost:{port}/file/x.bin", "not allowed"),
    ],
)
async def test_hostile_links_are_refused(
    link: str, answer: str, bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(ALLOW_PRIVATE_URLS="false")
    port = media.url("/").split(":")[2].split("/")[0]
    bot_api.push_message(USER, link.format(port=port))
    await bot_api.wait_for_text(USER, answer)
    await daemon.wait_log("job_failed")
    assert not [r for r in media.requests if "x.bin" in r[1]]


async def test_redirect_to_a_private_address_is_refused(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon(ALLOW_PRIVATE_URLS="false")
    # The first hop cannot be public here either; the refusal comes before any request.
    bot_api.push_message(USER, media.url("/redirect?to=http://10.0.0.1/secret"))
    await bot_api.wait_for_text(USER, "not allowed")
    assert not media.requests


async def test_rate_limit_answers_clearly(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon(RATE_LIMIT_PER_MINUTE="2")
    for n in range(3):
        bot_api.push_message(USER, media.url(f"/file/r{n}.bin?size=100"))
    await bot_api.wait_for_text(USER, "Slow down: up to 2 links a minute")
    assert len([m for m in bot_api.chat(USER) if m.file]) <= 2


async def test_updates_nothing_handles_do_not_crash(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    user = {"id": USER, "is_bot": False, "first_name": "U"}
    chat = {"id": USER, "type": "private", "first_name": "U"}
    bot_api.push_update(
        {
            "edited_message": {
                "message_id": 5,
                "date": 1,
                "edit_date": 2,
                "chat": chat,
                "from": user,
                "text": "https://example.com",
            }
        }
    )
    bot_api.push_update(
        {
            "message": {
                "message_id": 6,
                "date": 1,
                "chat": chat,
                "from": user,
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                },
            }
        }
    )
    bot_api.push_update(
        {
            "my_chat_member": {
                "chat": chat,
                "from": user,
                "date": 1,
                "old_chat_member": {"status": "member", "user": user},
                "new_chat_member": {"status": "kicked", "user": user, "until_date": 0},
            }
        }
    )
    bot_api.push_update(
        {
            "callback_query": {
                "id": "77",
                "from": user,
                "chat_instance": "c",
                "inline_message_id": "im",
                "data": "cancel:1",
            }
        }
    )
    bot_api.push_update(
        {"callback_query": {"id": "78", "from": user, "chat_instance": "c", "data": "bogus"}}
    )
    await bot_api.wait_for_text(USER, "I found no link in your message")  # the sticker
    await bot_api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == "78"
    )
    bot_api.push_message(USER, "/start")
    await bot_api.wait_for_text(USER, "Hi")
    assert "Traceback" not in daemon.output, daemon.output
    assert "handler_error" not in daemon.output


async def test_unknown_command_is_answered(bot_api: FakeBotApi, start_daemon: StartDaemon) -> None:
    await start_daemon()
    bot_api.push_message(USER, "/frobnicate")
    await bot_api.wait_for_text(USER, "I don't know that command. /help lists what I can do.")
