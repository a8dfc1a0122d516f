"""Plain-file downloads against a hostile server: bounded decoding, a full disk, slow heads,
and connections that go only to the address the guard vetted (DNS rebinding)."""

from __future__ import annotations

import socket
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.download.cancel import CancelToken
from bot.download.http import HttpFetcher
from bot.download.pinned import download_client
from bot.download.safety import UrlGuard, check_address
from bot.model.failures import FailureReason, FetchError
from tests.fakes.bombs import gzip_layers
from tests.fakes.hostile import GiB, HostileServer

MB = 1024 * 1024


def loopback_is_public(ip: str) -> bool:
    """127.0.0.1 plays a public host here; everything else is judged as usual."""
    return ip == "127.0.0.1" or check_address(ip)


class Resolver:
    """A DNS that counts lookups and can change its answer (rebinding)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        if host != "media.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return answer


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    async with HostileServer() as server:
        yield server


def fetcher(
    resolve: Resolver | None = None, max_size: int = 10 * MB, **options: Any
) -> HttpFetcher:
    guard = UrlGuard(False, resolve or Resolver(["127.0.0.1"]), is_public=loopback_is_public)
    client = download_client(
        guard.addresses, None, timeout=httpx.Timeout(10), headers={"User-Agent": "test"}
    )
    return HttpFetcher(client, guard, max_size, **options)


async def fetch(http: HttpFetcher, url: str, folder: Path) -> Path:
    async with http.open(url) as response:
        saved = await http.save(response, folder, lambda done, total: None, CancelToken())
    return saved.path


def port_of(hostile: HostileServer) -> int:
    return int(hostile.url("/").split(":")[2].split("/")[0])


async def test_a_file_in_two_layers_of_gzip_arrives_decoded(
    hostile: HostileServer, tmp_path: Path
) -> None:
    http = fetcher()
    path = await fetch(http, hostile.url("/gzip.bin?size=3000000"), tmp_path)
    assert path.stat().st_size == 3_000_000
    assert path.read_bytes() == bytes(3_000_000)
    assert b"accept-encoding: identity" in hostile.connections[0].head.lower()


async def test_a_gzip_bomb_stops_at_the_limit_in_bounded_memory(
    hostile: HostileServer, tmp_path: Path
) -> None:
    http = fetcher(max_size=10 * MB)
    gzip_layers(4 * GiB, 2)  # built (and cached) before counting: it is the server's, not ours
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as caught:
            await fetch(http, hostile.url(f"/gzip.bin?size={4 * GiB}"), tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason is FailureReason.TOO_LARGE
    assert peak < 4 * MB  # a few pieces of 256 KiB, not the 4 GiB inside
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 - one listing of a test folder
    await hostile.wait_all_closed(timeout=5)


async def test_an_encoding_it_cannot_decode_is_refused(
    hostile: HostileServer, tmp_path: Path
) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(fetcher(), hostile.url("/odd.bin?encoding=br"), tmp_path)
    assert caught.value.reason is FailureReason.BAD_ENCODING
    assert "br" in caught.value.detail


async def test_a_full_disk_is_its_own_reason(hostile: HostileServer, tmp_path: Path) -> None:
    # /dev/full: every write fails with ENOSPC, as on a disk with no space left.
    http = fetcher(open_file=lambda path: Path("/dev/full").open("wb"))  # noqa: SIM115 - save() closes it
    with pytest.raises(FetchError) as caught:
        await fetch(http, hostile.url("/gzip.bin?size=3000000"), tmp_path)
    assert caught.value.reason is FailureReason.DISK_FULL


async def test_headers_that_trickle_in_time_out(hostile: HostileServer, tmp_path: Path) -> None:
    http = fetcher(head_timeout=0.5)
    with pytest.raises(FetchError) as caught:
        await fetch(http, hostile.url("/slowloris?every=0.1"), tmp_path)
    assert caught.value.reason is FailureReason.TIMEOUT
    await hostile.wait_all_closed(timeout=5)


async def test_the_connection_goes_to_the_vetted_address_after_one_lookup(
    hostile: HostileServer, tmp_path: Path
) -> None:
    # The name exists only in the guard's resolver: the socket used the address it vetted.
    resolver = Resolver(["127.0.0.1"], ["10.0.0.1"])
    http = fetcher(resolver)
    path = await fetch(http, f"http://media.test:{port_of(hostile)}/gzip.bin?size=10", tmp_path)
    assert path.read_bytes() == bytes(10)
    assert resolver.lookups == 1  # no second lookup a rebinding DNS could answer differently
    assert b"host: media.test:" in hostile.connections[0].head.lower()


async def test_a_name_that_resolves_privately_is_never_connected_to(
    hostile: HostileServer, tmp_path: Path
) -> None:
    resolver = Resolver(["127.0.0.1", "10.0.0.1"])
    with pytest.raises(FetchError) as caught:
        await fetch(fetcher(resolver), f"http://media.test:{port_of(hostile)}/gzip.bin", tmp_path)
    assert caught.value.reason is FailureReason.BLOCKED_URL
    assert hostile.connections == []


def test_the_pinned_transport_still_uses_httpx_internals() -> None:
    # PinnedTransport replaces httpx's `_pool`; if an upgrade renames it, this fails first.
    from bot.download.pinned import PinnedBackend, PinnedTransport

    async def vet(host: str, port: int) -> list[str]:
        return [host]

    transport = PinnedTransport(vet)
    assert isinstance(transport._pool._network_backend, PinnedBackend)
    assert "_pool" in vars(httpx.AsyncHTTPTransport(trust_env=False))
