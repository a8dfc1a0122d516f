"""systemd notify: messages reach a real datagram socket; the watchdog pings only while healthy."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ops.notify import Notifier, WatchdogPinger


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """A stand-in for systemd's NOTIFY_SOCKET."""
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.setblocking(False)
        yield path, sock


def received(sock: socket.socket) -> list[str]:
    """Every datagram queued so far (AF_UNIX sendto has delivered by the time it returns)."""
    out: list[str] = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


class ManualSleep:
    """Replaces asyncio.sleep: reports each wait and parks until the test lets it go on."""

    def __init__(self) -> None:
        self.waits: asyncio.Queue[float] = asyncio.Queue()
        self._gate = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self._gate = asyncio.Event()
        await self.waits.put(seconds)
        await self._gate.wait()

    async def next_round(self) -> float:
        """Let the parked loop run one more tick and wait until it parks again."""
        self._gate.set()
        return await asyncio.wait_for(self.waits.get(), 5)


def test_ready_status_and_stopping_arrive(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    notifier = Notifier(path)

    notifier.ready("polling as @bot")
    notifier.status("2 jobs running\nsecond line")
    notifier.send(WATCHDOG=1)
    notifier.stopping()

    assert received(sock) == [
        "READY=1\nSTATUS=polling as @bot",
        "STATUS=2 jobs running second line",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_abstract_socket_address() -> None:
    name = f"tgfetch-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.setblocking(False)
        Notifier("@" + name).send(READY=1, MAINPID=42)
        assert received(sock) == ["READY=1\nMAINPID=42"]


def test_without_systemd_nothing_happens() -> None:
    notifier = Notifier(None)
    notifier.ready("x")
    notifier.send(WATCHDOG=1)


def test_a_dead_socket_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(tmp_path / "gone.sock"))
    with caplog.at_level(logging.WARNING, logger="bot.ops.notify"):
        notifier.ready()
        notifier.send(WATCHDOG=1)
        notifier.stopping()
    assert [r.getMessage().split()[0] for r in caplog.records] == ["notify_failed"]


async def test_watchdog_pings_only_while_healthy(
    notify_socket: tuple[str, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    path, sock = notify_socket
    state = {"healthy": True, "status": "polling ok"}
    sleep = ManualSleep()
    pinger = WatchdogPinger(
        Notifier(path),
        watchdog_usec=60_000_000,
        healthy=lambda: bool(state["healthy"]),
        status_line=lambda: str(state["status"]),
        sleep=sleep,
    )
    caplog.set_level(logging.INFO, logger="bot.ops.notify")
    pinger.start()
    try:
        assert await asyncio.wait_for(sleep.waits.get(), 5) == 30.0  # WATCHDOG_USEC / 2
        assert received(sock) == ["STATUS=polling ok\nWATCHDOG=1"]
        assert await sleep.next_round() == 30.0
        assert received(sock) == ["WATCHDOG=1"]

        state.update(healthy=False, status="no getUpdates round trip for 75s")
        await sleep.next_round()
        assert received(sock) == ["STATUS=no getUpdates round trip for 75s"]
        await sleep.next_round()
        assert received(sock) == []  # still withheld; nothing new to say

        state.update(healthy=True, status="polling ok")
        await sleep.next_round()
        assert received(sock) == ["STATUS=polling ok\nWATCHDOG=1"]
    finally:
        await pinger.stop()

    events = [r.getMessage().split()[0] for r in caplog.records if r.name == "bot.ops.notify"]
    assert events == ["watchdog_started", "watchdog_withheld", "watchdog_resumed"]


async def test_a_failing_probe_withholds_the_ping(
    notify_socket: tuple[str, socket.socket],
) -> None:
    path, sock = notify_socket

    def broken() -> bool:
        raise RuntimeError("probe bug")

    pinger = WatchdogPinger(Notifier(path), 10_000_000, broken, lambda: "x")
    pinger.tick()
    assert received(sock) == ["STATUS=health probe failed"]


async def test_no_watchdog_requested_means_no_task(
    notify_socket: tuple[str, socket.socket],
) -> None:
    path, sock = notify_socket
    pinger = WatchdogPinger(Notifier(path), None, lambda: True, lambda: "ok")
    pinger.start()
    assert pinger.interval is None
    await pinger.stop()
    assert received(sock) == []
