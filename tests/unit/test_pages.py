"""/pdf's parts that need no browser: the vetting proxy (every connection the browser makes),
the printed frame's CSS, which messages ask for a PDF, and the button under a page without media.

Offline: names resolve through a fake resolver, and 127.0.0.2 plays a public host (the URL
guard's `is_public` seam), so loopback servers stand in for the internet and the private side.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Chat, Message, MessageEntity

from bot.children.wrappers import write_guarded
from bot.download.safety import UrlGuard
from bot.handlers.message_links import asks_for_pdf
from bot.i18n import I18n
from bot.jobs.outcomes import Failed
from bot.model.failures import FailureReason, FetchError
from bot.pages.browser import BrowserConfig, BrowserHost, find_browser
from bot.pages.decor import PAGE, PAGES, Decor, stylesheet
from bot.pages.proxy import VettingProxy
from bot.pages.render import PageOrder, Renderer
from bot.pages.upstream import UpstreamError, open_tunnel
from bot.presenter.texts import final_buttons
from tests.e2e.procfs import descendants

PUBLIC, PRIVATE = "127.0.0.2", "127.0.0.3"


class Resolver:
    """A fake DNS: answers from `table` (a name may answer differently each time)."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.table.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]


class Listener:
    """A TCP server on one loopback address that echoes, counting who connected."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Listener:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while data := await reader.read(65536):
                writer.write(data * 64 if data.startswith(b"flood") else data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


async def socks(
    proxy: str, host: str, port: int, command: int = 1
) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect through the proxy as Chromium does (SOCKS5, the name sent); the reply code."""
    address, proxy_port = proxy.removeprefix("socks5://").split(":")
    reader, writer = await asyncio.open_connection(address, int(proxy_port))
    writer.write(b"\x05\x01\x00")
    assert await reader.readexactly(2) == b"\x05\x00"
    name = host.encode()
    writer.write(bytes((5, command, 0, 3, len(name))) + name + struct.pack(">H", port))
    reply = await reader.readexactly(10)
    return reply[1], reader, writer


@pytest.fixture
async def servers() -> AsyncIterator[tuple[Listener, Listener]]:
    async with Listener(PUBLIC) as public, Listener(PRIVATE) as private:
        yield public, private


def vetting(resolver: Resolver, budget: int = 1 << 20) -> VettingProxy:
    guard = UrlGuard(False, resolver, is_public=lambda ip: ip == PUBLIC)
    return VettingProxy(guard.addresses, budget=budget)


async def test_the_proxy_connects_to_the_address_it_vetted_and_refuses_the_private_side(
    servers: tuple[Listener, Listener],
) -> None:
    public, private = servers
    resolver = Resolver(
        {
            "site.test": [[PUBLIC]],
            "inside.test": [[PRIVATE]],
            "mixed.test": [[PUBLIC, PRIVATE]],
            # Rebinding: public when asked first, private after; each connection asks once.
            "rebind.test": [[PUBLIC], [PRIVATE]],
        }
    )
    proxy = vetting(resolver)
    url = await proxy.start()
    try:
        code, reader, writer = await socks(url, "site.test", public.port)
        assert code == 0
        writer.write(b"hello")
        assert await reader.readexactly(5) == b"hello"
        writer.close()
        for host in ("inside.test", "mixed.test", PRIVATE, "127.0.0.1", "localhost", "nowhere"):
            code, _, writer = await socks(url, host, private.port)
            writer.close()
            assert code in (2, 4), host  # not allowed; host unreachable (no such name)
        assert (await socks(url, "rebind.test", public.port))[0] == 0
        assert (await socks(url, "rebind.test", private.port))[0] == 2
        assert resolver.lookups.count("rebind.test") == 2  # once per connection, no second
        assert private.accepted == 0
        assert public.accepted == 2
        assert proxy.journal.refusal("inside.test").reason is FailureReason.BLOCKED_URL  # type: ignore[union-attr]
        assert proxy.journal.refusal("nowhere").reason is FailureReason.DNS  # type: ignore[union-attr]
    finally:
        await proxy.close()


async def test_the_proxy_carries_no_udp_and_keeps_to_the_pages_byte_budget(
    servers: tuple[Listener, Listener],
) -> None:
    public, _ = servers
    proxy = vetting(Resolver({"site.test": [[PUBLIC]]}), budget=1000)
    url = await proxy.start()
    try:
        code, _, writer = await socks(url, "site.test", public.port, command=3)  # UDP ASSOCIATE
        writer.close()
        assert code == 7
        code, reader, writer = await socks(url, "site.test", public.port)
        writer.write(b"flood" * 10)  # echoed 64 times over: past the budget
        received = await asyncio.wait_for(reader.read(), 10)  # the proxy cuts the tunnel
        assert len(received) <= 1000
        assert proxy.journal.over_budget
        assert (await socks(url, "site.test", public.port))[0] == 2  # and takes no more
    finally:
        await proxy.close()


async def test_closing_the_proxy_cuts_the_tunnels_it_still_carries(
    servers: tuple[Listener, Listener],
) -> None:
    public, _ = servers
    proxy = vetting(Resolver({"site.test": [[PUBLIC]]}))
    url = await proxy.start()
    code, reader, writer = await socks(url, "site.test", public.port)
    assert code == 0
    await proxy.close()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


def test_the_frame_counts_pages_in_the_readers_digits_and_a_site_name_cannot_break_out() -> None:
    persian = stylesheet(Decor("site.test", "امروز", f"صفحهٔ {PAGE} از {PAGES}", "arabext", True))
    assert "counter(page, persian)" in persian and "counter(pages, persian)" in persian
    assert "@top-right" in persian  # the site where a right-to-left reader starts
    english = stylesheet(Decor('x"; } body { display: none } @page { x: "', "today", PAGE))
    assert "counter(page, decimal)" in english
    assert '"x\\22 ; } body' in english  # the quote is escaped: still one CSS string
    assert english.count('"') == 4  # two strings, the site's and the date's: balanced


def message(text: str) -> Message:
    """A private message; links marked by Telegram as URL entities."""
    entities = []
    start = 0
    while (at := text.find("http", start)) >= 0:
        end = text.find(" ", at)
        end = len(text) if end < 0 else end
        entities.append(MessageEntity(MessageEntity.URL, at, end - at))
        start = end
    chat = Chat(1, Chat.PRIVATE)
    return Message(1, dt.datetime.now(dt.UTC), chat, text=text, entities=entities)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("pdf https://example.com/a", True),
        ("https://example.com/a PDF", True),
        ("https://example.com/a as pdf.", True),
        ("پی‌دی‌اف https://example.com/a", True),
        ("https://example.com/a https://example.com/b pdf", True),
        ("https://example.com/report.pdf", False),  # a file to download
        ("here is the pdf you wanted https://example.com/a", False),  # words about a PDF
        ("pdf", False),  # no link
        ("https://example.com/a", False),
    ],
)
def test_the_word_pdf_beside_links_asks_for_the_pages(text: str, wanted: bool) -> None:
    assert asks_for_pdf(message(text)) is wanted


def test_a_page_without_media_offers_itself_as_a_pdf() -> None:
    tr = I18n().get("en")
    [[(label, data)]] = final_buttons(tr, Failed(FailureReason.NO_MEDIA), 7) or [[]]
    assert "PDF" in label and data == "pdf:7"
    assert final_buttons(tr, Failed(FailureReason.UNSUPPORTED), 7) is not None
    assert final_buttons(tr, Failed(FailureReason.TIMEOUT), 7) is None
    assert final_buttons(tr, Failed(FailureReason.NO_MEDIA), None) is None


class ConnectProxy:
    """An HTTP proxy that serves CONNECT only, to `target`, recording what it was asked."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.asked: list[bytes] = []
        self.port = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.asked.append(head)
        if b"Proxy-Authorization: Basic dTpw" not in head:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(PUBLIC, self.target)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        up_writer.write(await reader.read(100))
        writer.write(await up_reader.read(100))
        await writer.drain()
        writer.close()
        up_writer.close()


async def test_behind_download_proxy_url_the_name_goes_to_the_operators_proxy(
    servers: tuple[Listener, Listener],
) -> None:
    public, _ = servers
    # SOCKS5: the operator's proxy resolves the name (here a VettingProxy that lets all by).
    socks_upstream = VettingProxy(lambda host, port: _answer([PUBLIC]), budget=1 << 20)
    upstream = await socks_upstream.start()
    try:
        reader, writer = await open_tunnel(upstream, "site.test", public.port)
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        writer.close()
    finally:
        await socks_upstream.close()
    # HTTP CONNECT, with the proxy's credentials from the URL.
    fake = ConnectProxy(public.port)
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await open_tunnel(f"http://u:p@127.0.0.1:{port}", "site.test", 443)
        writer.write(b"pong")
        assert await reader.readexactly(4) == b"pong"
        writer.close()
        assert fake.asked[0].startswith(b"CONNECT site.test:443 HTTP/1.1\r\n")
        with pytest.raises(UpstreamError):
            await open_tunnel(f"http://127.0.0.1:{port}", "site.test", 443)  # no credentials
    finally:
        server.close()


async def _answer(addresses: list[str]) -> list[str]:
    return addresses


async def test_a_browser_past_its_memory_ceiling_fails_the_page_not_the_bot(
    tmp_path: Path, servers: tuple[Listener, Listener]
) -> None:
    """The real browser through the guard's wrapper (as install_children writes it), held to
    64 MB: it is ended, the page fails with a reason, and no browser process is left."""
    browser = find_browser(None)
    if browser is None:
        pytest.skip("no Chromium here (make test installs it)")
    wrapper = write_guarded(tmp_path / "pdf-browser", [str(browser)], 64, pass_fds=(3, 4))
    host = BrowserHost(BrowserConfig(wrapper, 1))
    renderer = Renderer(host, UrlGuard(True))
    order = PageOrder("http://127.0.0.1:9/", tmp_path, "page", Decor("x", "y", PAGE), 20, 1 << 20)
    try:
        with pytest.raises(FetchError) as failed:
            await renderer.render(order)
    finally:
        await host.close()
    assert failed.value.reason in (FailureReason.RENDER_FAILED, FailureReason.PAGES_UNAVAILABLE)
    assert not [pid for pid in descendants(os.getpid()) if "chrom" in _comm(pid)]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""
