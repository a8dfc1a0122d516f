"""The connections one job's yt-dlp opens: to vetted addresses only, and stoppable at once.

A worker thread blocked in a connect, a TLS handshake or a read cannot look at a flag, so the
stop comes to it: every socket is known to the job's stop signal before it can block, and is
shut down the moment the job stops, which makes the blocked call return. DNS lookups run in a
separate pool, so a worker waiting on a stalled resolver is released too.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import http.client
import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from bot.download.cancel import CancelToken
from bot.model.failures import FetchError

if TYPE_CHECKING:
    from bot.download.safety import UrlGuard

T = TypeVar("T")
# How often a connect in progress looks at the stop signal (a stop also aborts it at once by
# shutting the socket down; this covers a stop that lands just before the connect begins).
CONNECT_POLL_S = 0.25
ConnectionClasses = dict[type[http.client.HTTPConnection], type[http.client.HTTPConnection]]


@dataclass(frozen=True, slots=True)
class JobNet:
    """What one job's yt-dlp may do on the network: when to stop, how much of a body to hold.

    `lookups` runs DNS lookups, so that a worker waiting on a stalled resolver still stops at
    once (the lookup itself finishes in that pool, bounded by the resolver's own timeout).
    """

    stop: CancelToken
    max_body: int
    lookups: concurrent.futures.Executor


def stopped_error() -> OSError:
    # An OSError, so urllib and yt-dlp treat it as the network failure it looks like; the
    # next request (a retry) meets the stop in urlopen and raises DownloadCancelled.
    return OSError(errno.ECANCELED, "the job was stopped")


class JobSockets:
    """Opens a job's sockets (vetting direct ones) and shuts them all down when it stops."""

    def __init__(self, guard: UrlGuard, net: JobNet) -> None:
        self._guard = guard
        self._net = net
        self._open: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._forget = net.stop.on_stop(self.shut_all)

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def shut_all(self) -> None:
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            # Not connected yet, or closed already: then nothing blocks on it.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """The job's YoutubeDL is done: the stop no longer needs to reach these sockets."""
        self._forget()

    def raise_if_stopped(self) -> None:
        if self._net.stop.cancelled:
            raise stopped_error()

    def connect(self, address: tuple[str, int], timeout: Any, source: Any, vet: bool) -> Any:
        """A connected socket to `address`; `vet`: only to addresses the guard accepts."""
        from yt_dlp.networking._helper import create_connection
        from yt_dlp.networking.exceptions import RequestError

        self.raise_if_stopped()
        host, port = address
        try:
            if vet:  # direct: only the addresses the guard vetted (all, if private is allowed)
                ips = self._until_done_or_stopped(lambda: self._guard.addresses_sync(host, port))
            else:  # a proxy the operator configured: any address it has
                ips = self._until_done_or_stopped(lambda: _lookup(host, port))
        except FetchError as exc:
            # yt-dlp treats any other exception from a handler as a bug and tries the next one.
            raise RequestError(str(exc), cause=exc) from exc
        error: OSError = OSError(f"no address of {host} accepted a connection")
        for ip in ips:
            try:
                return create_connection(
                    (ip, port), timeout, source, _create_socket_func=self._open_socket
                )
            except OSError as exc:
                error = exc
                if self._net.stop.cancelled:
                    break
        raise error

    def _until_done_or_stopped(self, call: Callable[[], T]) -> T:
        future = self._net.lookups.submit(call)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        forget = self._net.stop.on_stop(done.set)
        try:
            done.wait()
        finally:
            forget()
        if not future.done():
            raise stopped_error()
        return future.result()

    def _open_socket(self, ip_addr: Any, timeout: Any, source_address: Any) -> socket.socket:
        # yt-dlp's _socket_connect, with the socket known to the stop signal before it blocks.
        family, kind, proto, _name, address = ip_addr
        sock = socket.socket(family, kind, proto)
        self.add(sock)
        try:
            if source_address:
                sock.bind(source_address)
            limit = _seconds(timeout)
            _connect(sock, address, limit, self._net.stop)
            sock.settimeout(limit)
        except BaseException:
            sock.close()
            raise
        return sock


def connection_classes(sockets: JobSockets) -> tuple[ConnectionClasses, ConnectionClasses]:
    """http.client's connection classes opening their sockets through `sockets`.

    Returns (direct, proxied): direct ones connect only to vetted addresses; proxied ones go
    to the proxy, whatever its address, since the proxy and not this host resolves the URL.
    """

    class StoppableHTTPConnection(http.client.HTTPConnection):
        vet = True

        def connect(self) -> None:
            source = self.source_address  # type: ignore[attr-defined]
            self.sock = sockets.connect((self.host, self.port), self.timeout, source, self.vet)
            with contextlib.suppress(OSError):  # as http.client: not every OS has it
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tunnel_host:  # type: ignore[attr-defined]
                self._tunnel()  # type: ignore[attr-defined]

    class StoppableHTTPSConnection(StoppableHTTPConnection, http.client.HTTPSConnection):
        def connect(self) -> None:
            # http.client's HTTPSConnection.connect, with the TLS socket registered before the
            # handshake, so a server that trickles its handshake is stopped like any reader.
            StoppableHTTPConnection.connect(self)
            server_hostname = self._tunnel_host or self.host  # type: ignore[attr-defined]
            self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
                self.sock, server_hostname=server_hostname, do_handshake_on_connect=False
            )
            sockets.add(self.sock)
            sockets.raise_if_stopped()
            self.sock.do_handshake()

    class ProxiedHTTPConnection(StoppableHTTPConnection):
        vet = False

    class ProxiedHTTPSConnection(StoppableHTTPSConnection):
        vet = False

    direct: ConnectionClasses = {
        http.client.HTTPConnection: StoppableHTTPConnection,
        http.client.HTTPSConnection: StoppableHTTPSConnection,
    }
    proxied: ConnectionClasses = {
        http.client.HTTPConnection: ProxiedHTTPConnection,
        http.client.HTTPSConnection: ProxiedHTTPSConnection,
    }
    return direct, proxied


def _seconds(timeout: Any) -> float | None:
    """A socket timeout in seconds; None for http.client's "use the global default"."""
    return float(timeout) if isinstance(timeout, int | float) else None


def _lookup(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _connect(sock: socket.socket, address: Any, limit: float | None, stop: CancelToken) -> None:
    """Connect without blocking past a stop: poll the handshake, looking at `stop` meanwhile."""
    deadline = None if limit is None else time.monotonic() + limit
    sock.setblocking(False)
    code = sock.connect_ex(address)
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    while code in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
        if stop.cancelled:
            raise stopped_error()
        wait = CONNECT_POLL_S
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                raise TimeoutError("timed out connecting")
        if poller.poll(wait * 1000):
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if stop.cancelled:  # a stop during the handshake may leave it looking complete
        raise stopped_error()
    if code:
        raise OSError(code, os.strerror(code))
