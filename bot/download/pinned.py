"""The media download client: it connects only to addresses the URL guard resolved and vetted.

Checking a name and then letting the HTTP library look it up again leaves a window: a DNS
server that answers "public" to the check and "10.0.0.1" to the connect (rebinding) reaches
the private side once. Here the lookup the guard vets is the one the socket uses; TLS still
names the host (SNI, certificate) and the Host header is the URL's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

Vet = Callable[[str, int], Awaitable[list[str]]]

# No idle connection is kept: a job rarely fetches twice from one server, and a kept one is a
# connection to an attacker that outlives the job.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=0)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting to `vet(host, port)`'s addresses in turn."""

    def __init__(self, vet: Vet, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._vet = vet
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # FetchError (DNS, BLOCKED_URL) from the guard passes through httpx unchanged.
        addresses = await self._vet(host, port)
        error: Exception = httpcore.ConnectError(f"{host} has no usable address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not for media downloads")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (HTTP/1.1, TLS, pooling) over a PinnedBackend."""

    def __init__(self, vet: Vet, limits: httpx.Limits = LIMITS) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx takes no network backend, so the pool it just built is replaced by the same
        # one on ours; tests/unit/test_pinned.py fails if an httpx upgrade stops using `_pool`.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=PinnedBackend(vet),
        )


def download_client(
    vet: Vet, proxy: str | None, *, timeout: httpx.Timeout, headers: dict[str, str]
) -> httpx.AsyncClient:
    """The client for media: pinned to vetted addresses, or through `proxy` (which resolves).

    trust_env=False: only DOWNLOAD_PROXY_URL decides, and the URL guard depends on it.
    """
    if proxy is not None:
        return httpx.AsyncClient(
            proxy=proxy, trust_env=False, timeout=timeout, headers=headers, limits=LIMITS
        )
    transport = PinnedTransport(vet)
    return httpx.AsyncClient(
        transport=transport, trust_env=False, timeout=timeout, headers=headers
    )
