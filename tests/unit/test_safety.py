"""URL safety: hostile links are refused with the right reason; yt-dlp cannot be redirected in.

Offline: names resolve through fake resolvers, and 127.0.0.2 plays a public host (the guard's
`is_public` seam) so real loopback servers can stand in for the internet and the private side.
"""

from __future__ import annotations

import asyncio
import http.server
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.download.cancel import CancelToken
from bot.download.safety import MAX_URL_LENGTH, UrlGuard, check_address
from bot.download.ytdlp_guard import JobNet, find_fetch_error, guarded_youtube_dl
from bot.model.failures import FailureReason, FetchError

PUBLIC = "93.184.216.34"
DNS = {
    "example.com": [PUBLIC],
    "xn--bcher-kva.example": [PUBLIC],
    "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    "internal.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "127.0.0.1.nip.io": ["127.0.0.1"],
    "mixed.example": [PUBLIC, "192.168.1.10"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "cgnat.example": ["100.64.1.1"],
}


async def fake_resolve(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return DNS[host]


def fake_resolve_sync(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return DNS[host]


def guard(**kwargs: Any) -> UrlGuard:
    return UrlGuard(kwargs.pop("allow_private", False), fake_resolve, **kwargs)


INVALID = [
    "ftp://example.com/file",
    "file:///etc/passwd",
    "gopher://127.0.0.1:25/_HELO",
    "javascript:alert(1)",
    "example.com/video.mp4",
    "http://",
    "http:///path-only",
    "http://user:secret@example.com/",
    "http://user@example.com/",
    "http://@example.com/",
    "http://example.com:99999/",
    "http://example.com:0/",
    "http://example.com:port/",
    "http://exa mple.com/",
    "http://example.com\\@127.0.0.1/",
    "http://example.com/\r\nHost: evil",
    "http://1.2.3.4.5/",
    "http://08.0.0.1/",
    "http://256.256.256.256/",
    "http://[not-ipv6]/",
    "http://%31%32%37.0.0.1/",
    "http://exa_mple..com/",
    "http://example.com/" + "a" * MAX_URL_LENGTH,
]

BLOCKED = [
    "http://127.0.0.1/",
    "https://127.0.0.1:8443/admin",
    "http://127.1/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0/",
    "http://0.0.0.0:8080/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://192.0.0.8/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    "http://[2002:7f00:1::]/",  # 6to4 wrapping 127.0.0.1
    "http://[2002:c0a8:101::1]/",  # 6to4 wrapping 192.168.1.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 wrapping 169.254.169.254
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "http://localhost/",
    "http://LOCALHOST.:8080/",
    "http://foo.localhost/",
    "http://internal.example/",
    "http://metadata.example/computeMetadata/v1/",
    "http://127.0.0.1.nip.io/",
    "http://mixed.example/",  # one bad address is enough
    "http://mapped.example/",
    "http://cgnat.example/",
]

PASSES = [
    f"http://{PUBLIC}/",
    f"https://{PUBLIC}:8443/video.mp4?x=1#t=10",
    "https://example.com/watch?v=abc",
    "https://EXAMPLE.com./path",
    "http://bücher.example/",
    "http://v6.example/",
    "http://[2606:2800:220:1:248:1893:25c8:1946]/",
    f"http://[::ffff:{PUBLIC}]/",
    "http://[2002:5db8:d822::1]/",  # 6to4 wrapping a public address
    "http://[64:ff9b::5db8:d822]/",  # NAT64 wrapping a public address
]


@pytest.mark.parametrize("url", INVALID)
async def test_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        await guard().check(url)
    assert caught.value.reason is FailureReason.INVALID_URL


@pytest.mark.parametrize("url", BLOCKED)
async def test_private_destinations_are_blocked(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        await guard().check(url)
    assert caught.value.reason is FailureReason.BLOCKED_URL


@pytest.mark.parametrize("url", BLOCKED)
def test_private_destinations_are_blocked_from_a_worker_thread(url: str) -> None:
    sync_guard = UrlGuard(False, resolve_sync=fake_resolve_sync)
    with pytest.raises(FetchError) as caught:
        sync_guard.check_url_sync(url)
    assert caught.value.reason is FailureReason.BLOCKED_URL


@pytest.mark.parametrize("url", PASSES)
async def test_public_destinations_pass(url: str) -> None:
    await guard().check(url)
    UrlGuard(False, resolve_sync=fake_resolve_sync).check_url_sync(url)


async def test_unknown_names_fail_as_dns() -> None:
    with pytest.raises(FetchError) as caught:
        await guard().check("https://no-such-host.example/")
    assert caught.value.reason is FailureReason.DNS


async def test_a_hanging_lookup_times_out_as_dns() -> None:
    async def hang(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    with pytest.raises(FetchError) as caught:
        await UrlGuard(False, hang, resolve_timeout=0.05).check("https://slow.example/")
    assert caught.value.reason is FailureReason.DNS


async def test_allow_private_still_checks_the_form() -> None:
    relaxed = guard(allow_private=True)
    await relaxed.check("http://127.0.0.1:8080/")
    await relaxed.check("http://internal.example/")
    for url in ("ftp://127.0.0.1/", "http://user:pw@127.0.0.1/"):
        with pytest.raises(FetchError) as caught:
            await relaxed.check(url)
        assert caught.value.reason is FailureReason.INVALID_URL


async def test_behind_a_proxy_names_are_left_to_the_proxy() -> None:
    async def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("local DNS must not decide for a proxied download")

    proxied = UrlGuard(False, no_dns, behind_proxy=True)
    await proxied.check("https://internal.example/")
    for url in ("http://127.0.0.1:1080/", "http://localhost/", "http://[::1]/"):
        with pytest.raises(FetchError) as caught:
            await proxied.check(url)
        assert caught.value.reason is FailureReason.BLOCKED_URL


def test_check_address() -> None:
    assert check_address(PUBLIC)
    assert check_address("2606:4700:4700::1111")
    for ip in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fe80::1%eth0", "nonsense"):
        assert not check_address(ip), ip


# --- the connected peer (httpx), DNS rebinding --------------------------------------------


def loopback_is_public(ip: str) -> bool:
    """127.0.0.2 plays a public host; everything else is judged as usual."""
    return ip == "127.0.0.2" or check_address(ip)


@pytest.fixture
async def tiny_servers() -> AsyncIterator[dict[str, int]]:
    """One-response HTTP servers on 127.0.0.1 (private) and 127.0.0.2 ("public")."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    servers = {ip: await asyncio.start_server(answer, ip, 0) for ip in ("127.0.0.1", "127.0.0.2")}
    try:
        yield {ip: s.sockets[0].getsockname()[1] for ip, s in servers.items()}
    finally:
        for server in servers.values():
            server.close()
            await server.wait_closed()


async def test_check_peer_refuses_a_private_peer(tiny_servers: dict[str, int]) -> None:
    peer_guard = UrlGuard(False, is_public=loopback_is_public)
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        url = f"http://127.0.0.2:{tiny_servers['127.0.0.2']}/"
        async with client.stream("GET", url) as response:
            peer_guard.check_peer(response)
        # As if DNS had answered "public" for the check and "127.0.0.1" for the connect.
        url = f"http://127.0.0.1:{tiny_servers['127.0.0.1']}/"
        async with client.stream("GET", url) as response:
            with pytest.raises(FetchError) as caught:
                peer_guard.check_peer(response)
    assert caught.value.reason is FailureReason.BLOCKED_URL


async def test_check_peer_refuses_an_unknown_peer() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get("https://example.com/")
    with pytest.raises(FetchError) as caught:
        guard().check_peer(response)
    assert caught.value.reason is FailureReason.BLOCKED_URL
    guard(allow_private=True).check_peer(response)


# --- yt-dlp: every request, redirect hop and connection --------------------------------------


Route = tuple[int, dict[str, str], bytes]


class Site(http.server.ThreadingHTTPServer):
    """A threaded HTTP server on one loopback address, with canned routes and a hit log."""

    def __init__(self, ip: str) -> None:
        super().__init__((ip, 0), _Handler)
        self.hits: list[str] = []
        self.routes: dict[str, Route] = {}
        self.port = self.server_address[1]
        self.origin = f"http://{ip}:{self.port}"
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        status, headers, body = self.server.routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    public, private = Site("127.0.0.2"), Site("127.0.0.1")
    private.routes["/secret"] = (200, {"Content-Type": "text/plain"}, b"internal data")
    try:
        yield public, private
    finally:
        public.close()
        private.close()


def ydl_guard() -> UrlGuard:
    names = {"media.test": ["127.0.0.2"], "rebind.test": ["127.0.0.2", "127.0.0.1"]}

    def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return names[host]

    return UrlGuard(False, resolve_sync=resolve, is_public=loopback_is_public)


@pytest.fixture
def net() -> Iterator[JobNet]:
    with ThreadPoolExecutor(2, thread_name_prefix="lookup") as lookups:
        yield JobNet(CancelToken(), 1024 * 1024, lookups)


@pytest.fixture
def ydl(tmp_path: Path, net: JobNet) -> Iterator[Any]:
    with guarded_youtube_dl(ydl_params(tmp_path), ydl_guard(), net) as ydl:
        yield ydl


def ydl_params(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    base = {"quiet": True, "no_warnings": True, "socket_timeout": 10, "retries": 0}
    return {**base, "paths": {"home": str(tmp_path)}, **extra}


def blocked_reason(exc: BaseException) -> FailureReason | None:
    found = find_fetch_error(exc)
    return None if found is None else found.reason


def test_ytdlp_refuses_a_redirect_to_a_private_address(sites: tuple[Site, Site], ydl: Any) -> None:
    import yt_dlp.utils

    public, private = sites
    public.routes["/video"] = (302, {"Location": f"{private.origin}/secret"}, b"")

    with pytest.raises(yt_dlp.utils.YoutubeDLError) as caught:
        ydl.urlopen(f"{public.origin}/video")
    assert blocked_reason(caught.value) is FailureReason.BLOCKED_URL

    with pytest.raises(yt_dlp.utils.YoutubeDLError) as caught:
        ydl.extract_info(f"{public.origin}/video", download=False)
    assert blocked_reason(caught.value) is FailureReason.BLOCKED_URL

    assert public.hits == ["/video", "/video"]
    assert private.hits == []  # the internal service never saw a request


def test_ytdlp_refuses_a_redirect_to_a_name_that_resolves_privately(
    sites: tuple[Site, Site], ydl: Any
) -> None:
    public, private = sites
    public.routes["/video"] = (302, {"Location": f"http://rebind.test:{private.port}/secret"}, b"")
    import yt_dlp.utils

    with pytest.raises(yt_dlp.utils.YoutubeDLError) as caught:
        ydl.urlopen(f"{public.origin}/video")
    assert blocked_reason(caught.value) is FailureReason.BLOCKED_URL
    assert private.hits == []


def test_ytdlp_checks_each_redirect_target_before_connecting(
    sites: tuple[Site, Site], ydl: Any
) -> None:
    import yt_dlp.utils

    public, _ = sites
    public.routes["/a"] = (302, {"Location": f"http://user:pw@127.0.0.2:{public.port}/b"}, b"")
    with pytest.raises(yt_dlp.utils.YoutubeDLError) as caught:
        ydl.urlopen(f"{public.origin}/a")
    assert blocked_reason(caught.value) is FailureReason.INVALID_URL
    assert public.hits == ["/a"]


def test_ytdlp_follows_public_redirects_and_connects_to_vetted_addresses(
    sites: tuple[Site, Site], ydl: Any
) -> None:
    public, _ = sites
    public.routes["/a"] = (301, {"Location": f"http://media.test:{public.port}/b"}, b"")
    public.routes["/b"] = (200, {"Content-Type": "video/mp4"}, b"media bytes")
    # media.test exists only in the guard's resolver: the socket went to the vetted address.
    assert ydl.urlopen(f"{public.origin}/a").read() == b"media bytes"
    assert public.hits == ["/a", "/b"]


def test_ytdlp_direct_private_urls_and_other_schemes_are_refused(
    sites: tuple[Site, Site], ydl: Any
) -> None:
    import yt_dlp.utils

    _, private = sites
    with pytest.raises(yt_dlp.utils.YoutubeDLError) as caught:
        ydl.urlopen(f"{private.origin}/secret")
    assert blocked_reason(caught.value) is FailureReason.BLOCKED_URL
    with pytest.raises(yt_dlp.utils.YoutubeDLError):
        ydl.urlopen(f"ftp://127.0.0.2:{private.port}/secret")
    with pytest.raises(yt_dlp.utils.YoutubeDLError):
        ydl.urlopen("file:///etc/passwd")
    assert private.hits == []


def test_ytdlp_through_a_proxy_checks_urls_not_the_proxy(
    sites: tuple[Site, Site], tmp_path: Path, net: JobNet
) -> None:
    import yt_dlp.utils

    # The private site plays a proxy on loopback (say a local VPN client): a fine peer.
    _, proxy = sites
    proxy.routes["http://media.test/clip"] = (200, {}, b"via proxy")
    params = ydl_params(tmp_path, proxy=proxy.origin)
    with guarded_youtube_dl(params, ydl_guard(), net) as ydl:
        assert ydl.urlopen("http://media.test/clip").read() == b"via proxy"
        with pytest.raises(yt_dlp.utils.YoutubeDLError) as caught:
            ydl.urlopen("http://rebind.test/secret")
    assert blocked_reason(caught.value) is FailureReason.BLOCKED_URL
    assert proxy.hits == ["http://media.test/clip"]


def test_ytdlp_with_private_addresses_allowed(
    sites: tuple[Site, Site], tmp_path: Path, net: JobNet
) -> None:
    _, private = sites
    relaxed = UrlGuard(True)
    with guarded_youtube_dl(ydl_params(tmp_path), relaxed, net) as ydl:
        assert ydl.urlopen(f"{private.origin}/secret").read() == b"internal data"


def test_ytdlp_refuses_downloaders_that_open_their_own_connections(ydl: Any) -> None:
    with pytest.raises(FetchError) as caught:
        ydl.dl("out.flv", {"url": "rtmp://127.0.0.2/live/stream", "ext": "flv", "id": "x"})
    assert caught.value.reason is FailureReason.UNSUPPORTED


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_hls_handed_to_ffmpeg_cannot_reach_private_segments(
    sites: tuple[Site, Site], ydl: Any
) -> None:
    import yt_dlp.utils

    public, private = sites
    # yt-dlp hands AES-128 streams to ffmpeg when pycryptodomex is missing (or when the
    # playlist uses features its own HLS downloader lacks): the playlist decides, not us.
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n"
        f'#EXT-X-KEY:METHOD=AES-128,URI="{private.origin}/key"\n'
        f"#EXTINF:10.0,\n{private.origin}/segment0.ts\n#EXT-X-ENDLIST\n"
    ).encode()
    public.routes["/stream.m3u8"] = (
        200,
        {"Content-Type": "application/vnd.apple.mpegurl"},
        playlist,
    )
    with pytest.raises(yt_dlp.utils.YoutubeDLError):
        ydl.extract_info(f"{public.origin}/stream.m3u8", download=True)
    assert private.hits == []
