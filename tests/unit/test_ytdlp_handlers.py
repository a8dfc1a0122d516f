"""yt-dlp's `default` extra brings more request handlers (requests, websockets): none of them
may carry a job's request past the URL guard."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.download.cancel import CancelToken
from bot.download.safety import UrlGuard
from bot.download.ytdlp_guard import JobNet, guarded_youtube_dl
from bot.model.failures import FailureReason, FetchError


class Listener:
    """A TCP port on loopback that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ydl(tmp_path: Path) -> Iterator[Any]:
    params = {"quiet": True, "no_warnings": True, "socket_timeout": 5, "retries": 0}
    with ThreadPoolExecutor(1) as lookups:
        net = JobNet(CancelToken(), 1024 * 1024, lookups)
        with guarded_youtube_dl(
            {**params, "paths": {"home": str(tmp_path)}}, UrlGuard(False), net
        ) as ydl:
            yield ydl


def test_the_default_extra_is_installed_and_its_handlers_are_registered() -> None:
    # Without these the tests below would prove nothing about them.
    from yt_dlp.networking.common import _REQUEST_HANDLERS

    assert {"Urllib", "Requests", "Websockets"} <= set(_REQUEST_HANDLERS)


def test_only_the_guarded_handler_can_be_chosen(ydl: Any) -> None:
    from yt_dlp.networking import _urllib

    handlers = list(ydl._request_director.handlers.values())
    assert [h.RH_NAME for h in handlers] == ["guarded_urllib"]
    assert all(isinstance(h, _urllib.UrllibRH) for h in handlers)
    assert type(handlers[0]).__name__ == "GuardedUrllibRH"


@pytest.mark.parametrize("scheme", ["http", "https", "ws", "wss"])
def test_no_scheme_reaches_a_private_address(ydl: Any, listener: Listener, scheme: str) -> None:
    import yt_dlp.utils

    with pytest.raises(yt_dlp.utils.YoutubeDLError):
        ydl.urlopen(f"{scheme}://127.0.0.1:{listener.port}/")
    assert listener.accepted == 0


@pytest.mark.parametrize("allow_private", [False, True])
def test_the_websocket_downloader_is_refused(tmp_path: Path, allow_private: bool) -> None:
    # It would connect by itself and end with SIGINT to this very process.
    params = {"quiet": True, "no_warnings": True, "paths": {"home": str(tmp_path)}}
    info = {"url": "ws://127.0.0.2/live", "protocol": "websocket_frag", "ext": "mp4", "id": "x"}
    with ThreadPoolExecutor(1) as lookups:
        net = JobNet(CancelToken(), 1024 * 1024, lookups)
        with (
            guarded_youtube_dl(params, UrlGuard(allow_private), net) as ydl,
            pytest.raises(FetchError) as caught,
        ):
            ydl.dl("out.mp4", info)
    assert caught.value.reason is FailureReason.UNSUPPORTED


def test_the_po_token_provider_is_reachable_and_nothing_else_there(tmp_path: Path) -> None:
    import http.server

    import yt_dlp.utils

    class Provider(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"version": "2.0.2"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    guard = UrlGuard(False).trusting((f"{base}/ping", f"{base}/get_pot"))
    params = {"quiet": True, "no_warnings": True, "paths": {"home": str(tmp_path)}}
    try:
        with ThreadPoolExecutor(1) as lookups:
            net = JobNet(CancelToken(), 1024 * 1024, lookups)
            with guarded_youtube_dl(params, guard, net) as ydl:
                assert b"2.0.2" in ydl.urlopen(f"{base}/ping").read()
                for elsewhere in (f"{base}/admin", f"{base}/ping/../admin", f"{base}/ping?x=1"):
                    with pytest.raises(yt_dlp.utils.YoutubeDLError):
                        ydl.urlopen(elsewhere)
        with pytest.raises(FetchError):  # the users' guard trusts nothing
            UrlGuard(False).check_url_sync(f"{base}/ping")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
