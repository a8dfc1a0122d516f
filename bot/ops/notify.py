"""systemd's notify protocol (READY, STATUS, WATCHDOG) over NOTIFY_SOCKET, without libsystemd."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class Notifier:
    """Sends datagrams to the service manager; a no-op outside systemd, never raises."""

    def __init__(self, socket_path: str | None) -> None:
        self._address = _address(socket_path) if socket_path else None
        self._failed = False

    def ready(self, status: str = "") -> None:
        fields: dict[str, str | int] = {"READY": 1}
        if status:
            fields["STATUS"] = status
        self.send(**fields)

    def status(self, text: str) -> None:
        self.send(STATUS=text)

    def stopping(self) -> None:
        self.send(STOPPING=1)

    def send(self, **fields: str | int) -> None:
        """Send `KEY=value` lines in one datagram; failures are logged once and swallowed."""
        if self._address is None or not fields:
            return
        # A newline inside a value would start a new (bogus) assignment.
        payload = "\n".join(f"{key}={_one_line(value)}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Never stall the event loop: a full socket buffer just drops this message.
                sock.setblocking(False)
                sock.sendto(payload.encode(), self._address)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                log.warning("notify_failed socket=%s error=%s", self._address, exc)
        else:
            if self._failed:
                self._failed = False
                log.info("notify_recovered socket=%s", self._address)


def _address(path: str) -> str | bytes:
    # "@name" is an abstract socket: its address is the name after a NUL byte.
    return b"\0" + path[1:].encode() if path.startswith("@") else path


def _one_line(value: str | int) -> str:
    return " ".join(str(value).splitlines())


class WatchdogPinger:
    """Pings WATCHDOG=1 every WATCHDOG_USEC/2 while `healthy()` holds, so systemd restarts a
    daemon whose polling has died even though the process is still alive."""

    def __init__(
        self,
        notifier: Notifier,
        watchdog_usec: int | None,
        healthy: Callable[[], bool],
        status_line: Callable[[], str],
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._notifier = notifier
        self._interval = watchdog_usec / 2_000_000 if watchdog_usec else None
        self._healthy = healthy
        self._status_line = status_line
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._withholding = False
        self._last_status: str | None = None

    @property
    def interval(self) -> float | None:
        """Seconds between pings, or None when systemd asked for no watchdog."""
        return self._interval

    def start(self) -> None:
        if self._interval is None or self._task is not None:
            return
        log.info("watchdog_started interval_s=%.1f", self._interval)
        self._task = asyncio.create_task(self._run(self._interval), name="watchdog")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def tick(self) -> None:
        """One round: ping if healthy, refresh STATUS when it changed, log transitions."""
        try:
            ok = self._healthy()
            status = self._status_line()
        except Exception:  # a task boundary: a broken probe must not end the pinger silently
            log.exception("watchdog_probe_failed")
            ok, status = False, "health probe failed"
        fields: dict[str, str | int] = {}
        if status != self._last_status:
            fields["STATUS"] = status
            self._last_status = status
        if ok:
            fields["WATCHDOG"] = 1
            if self._withholding:
                self._withholding = False
                log.info("watchdog_resumed status=%r", status)
        elif not self._withholding:
            self._withholding = True
            log.error("watchdog_withheld status=%r (systemd restarts us if this lasts)", status)
        self._notifier.send(**fields)

    async def _run(self, interval: float) -> None:
        while True:
            self.tick()
            await self._sleep(interval)
