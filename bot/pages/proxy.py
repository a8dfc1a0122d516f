"""The browser's only way out: a SOCKS5 proxy on 127.0.0.1 that vets every connection.

Chromium is pointed at it for everything a page loads (the page, each subresource, redirects,
WebSockets, service workers), loopback included (`<-loopback>`). With SOCKS5 the browser sends
the name, not an address: the name is resolved here once, by the URL guard, which refuses a
private or loopback answer, and the socket goes to the very address the guard vetted, so a DNS
server that answers differently the second time (rebinding) gets no second time. Only CONNECT
is served: no UDP (QUIC, WebRTC) leaves through it. One proxy serves one page and is closed
with it, which cuts whatever the page still had open.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.model.failures import FailureReason, FetchError

log = logging.getLogger(__name__)

# Resolves a name once and returns only vetted addresses (UrlGuard.addresses); raises
# FetchError (DNS, BLOCKED_URL) otherwise.
Vet = Callable[[str, int], Awaitable[list[str]]]

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# Opens the connection `vet` allowed: (what vet returned, port) -> streams.
Connect = Callable[[list[str], int], Awaitable[Streams]]

CHUNK = 64 * 1024
HANDSHAKE_S = 10.0  # a client that does not finish the SOCKS greeting within this is dropped
_OK, _NOT_ALLOWED, _UNREACHABLE, _REFUSED, _NOT_SUPPORTED = 0x00, 0x02, 0x04, 0x05, 0x07


@dataclass
class Journal:
    """What one page's connections came to: for the log, and to say why the page failed."""

    connections: int = 0
    received: int = 0  # bytes from the sites to the browser
    refused: dict[str, FetchError] = field(default_factory=dict)  # host -> the first refusal
    over_budget: bool = False

    def refusal(self, host: str) -> FetchError | None:
        return self.refused.get(host.lower().removesuffix("."))


class _Refused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class VettingProxy:
    """A SOCKS5 (CONNECT only, no auth) proxy for one page; `url` once started."""

    def __init__(
        self,
        vet: Vet,
        *,
        budget: int,
        connect: Connect | None = None,
        connect_timeout: float = 15.0,
        quiet: bool = False,
    ) -> None:
        self._vet = vet
        # How a vetted connection is made: to the addresses vetted, or (DOWNLOAD_PROXY_URL)
        # through the operator's proxy, which resolves the name the vet let through.
        self._connect = connect or self._direct
        self._log_level = logging.DEBUG if quiet else logging.INFO
        self._budget = budget  # bytes the page may receive in all
        self._connect_timeout = connect_timeout
        self._server: asyncio.Server | None = None
        self._tunnels: set[asyncio.Task[None]] = set()
        self.journal = Journal()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"socks5://127.0.0.1:{port}"

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.url

    async def close(self) -> None:
        """Stop listening and cut every tunnel still open."""
        if self._server is not None:
            self._server.close()
        tunnels = list(self._tunnels)
        for task in tunnels:
            task.cancel()
        await asyncio.gather(*tunnels, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - a stream callback runs in its own task
        self._tunnels.add(task)
        try:
            await self._tunnel(reader, writer)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass  # either side went away: the browser sees a closed connection
        except asyncio.CancelledError:
            # Cut by close() or the budget: this task is the connection's boundary, and the
            # stream server would log a handler that ends cancelled as an error.
            pass
        finally:
            self._tunnels.discard(task)
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(HANDSHAKE_S):
            host, port = await _handshake(reader, writer)
        try:
            upstream = await self._open(host, port)
        except _Refused as exc:
            writer.write(_reply(exc.code))
            await writer.drain()
            return
        up_reader, up_writer = upstream
        try:
            writer.write(_reply(_OK))
            await writer.drain()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pipe(reader, up_writer, count=False))
                group.create_task(self._pipe(up_reader, writer, count=True))
        finally:
            up_writer.close()

    async def _open(self, host: str, port: int) -> Streams:
        journal = self.journal
        if journal.over_budget:
            raise _Refused(_NOT_ALLOWED)
        journal.connections += 1
        try:
            addresses = await self._vet(host, port)
        except FetchError as exc:
            journal.refused.setdefault(host, exc)
            log.log(
                self._log_level,
                "page_request_refused host=%s port=%d reason=%s",
                host,
                port,
                exc.reason,
            )
            code = _NOT_ALLOWED if exc.reason is FailureReason.BLOCKED_URL else _UNREACHABLE
            raise _Refused(code) from exc
        try:
            return await self._connect(addresses, port)
        except (OSError, TimeoutError) as exc:
            journal.refused.setdefault(host, FetchError(FailureReason.CONNECTION, repr(exc)))
            raise _Refused(_REFUSED) from exc

    async def _direct(self, addresses: list[str], port: int) -> Streams:
        """To the vetted addresses in turn, each within the connect timeout."""
        error: Exception = OSError("no address")
        for address in addresses:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    return await asyncio.open_connection(address, port)
            except (OSError, TimeoutError) as exc:
                error = exc
        raise error

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, count: bool
    ) -> None:
        try:
            while chunk := await source.read(CHUNK):
                if count:
                    self.journal.received += len(chunk)
                    if self.journal.received > self._budget:
                        self._over_budget()
                        return
                sink.write(chunk)
                await sink.drain()
        except OSError:
            return  # reset by either side: the other direction ends on its own
        finally:
            # Half-close: the other direction may still have an answer to carry.
            if sink.can_write_eof() and not sink.is_closing():
                with contextlib.suppress(OSError):
                    sink.write_eof()

    def _over_budget(self) -> None:
        if not self.journal.over_budget:
            self.journal.over_budget = True
            log.warning("page_over_budget bytes=%d", self.journal.received)
        for task in list(self._tunnels):
            task.cancel()


async def _handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[str, int]:
    """The SOCKS5 greeting and CONNECT request; the host as sent (a name or an address)."""
    version, methods = await reader.readexactly(2)
    offered = await reader.readexactly(methods)
    if version != 5 or 0 not in offered:
        writer.write(b"\x05\xff")
        raise ConnectionError("not a SOCKS5 client without authentication")
    writer.write(b"\x05\x00")
    await writer.drain()
    _, command, _, kind = await reader.readexactly(4)
    if kind == 1:
        host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
    elif kind == 4:
        host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
    elif kind == 3:
        length = (await reader.readexactly(1))[0]
        host = (await reader.readexactly(length)).decode("ascii", "replace")
    else:
        raise ConnectionError("unknown address type")
    (port,) = struct.unpack(">H", await reader.readexactly(2))
    if command != 1:  # BIND and UDP ASSOCIATE: nothing but TCP streams leaves
        writer.write(_reply(_NOT_SUPPORTED))
        raise ConnectionError("only CONNECT is served")
    return host.strip("[]").lower().removesuffix("."), port


def _reply(code: int) -> bytes:
    return bytes((5, code, 0, 1, 0, 0, 0, 0, 0, 0))
