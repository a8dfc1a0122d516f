"""The self-test of a staged yt-dlp, run as its own process before the daemon may use it:
`python -m bot.upgrade.selftest STAGE VERSION`, one line per check (`ok|fail <check> <detail>`),
exit 0 when all pass.

It imports the staged yt-dlp the way the daemon will (first on sys.path) and checks what this
bot relies on: the version is the one staged, the URL guard's hooks into yt-dlp's internals are
all there and only the guarded handler can carry a request, a private address is refused
before any connection, a local generic page is extracted and downloaded through the guarded
YoutubeDL, the JavaScript runtime is found and runs, and the EJS scripts import.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import logging
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64


class CheckError(Exception):
    """A check failed; the message says how."""


def main(argv: list[str]) -> int:
    stage, version = Path(argv[0]), argv[1]
    logging.basicConfig(level=logging.ERROR)  # the guard's refusal is expected, not news
    sys.path.insert(0, str(stage))  # before anything imports yt-dlp, as the daemon does
    checks: list[tuple[str, Callable[[], str]]] = [
        ("version", lambda: _version(stage, version)),
        ("guard_hooks", _guard_hooks),
        ("guard_refuses_private", _refuses_private),
        ("generic_page", _generic_page),
        ("js_runtime", lambda: _js_runtime(stage)),
        ("ejs", _ejs),
    ]
    failed = False
    for name, check in checks:
        try:
            detail = check()
        except Exception as exc:  # noqa: BLE001 - each check's failure is its report
            print(f"fail {name} {type(exc).__name__}: {exc}"[:400], flush=True)  # noqa: T201
            failed = True
            break  # the later checks build on the earlier ones
        print(f"ok {name} {detail}", flush=True)  # noqa: T201
    return 1 if failed else 0


def _version(stage: Path, version: str) -> str:
    import yt_dlp

    where = Path(yt_dlp.__file__).resolve()
    if stage.resolve() not in where.parents:
        raise CheckError(f"yt_dlp was imported from {where.parent}, not the stage")
    found = importlib.metadata.version("yt-dlp")
    if found != version:
        raise CheckError(f"the stage has yt-dlp {found}, not {version}")
    return found


@contextmanager
def _ydl(allow_private: bool, home: Path) -> Iterator[Any]:
    from bot.download.cancel import CancelToken
    from bot.download.safety import UrlGuard
    from bot.download.ytdlp_guard import JobNet, guarded_youtube_dl

    params: dict[str, Any] = {"quiet": True, "no_warnings": True, "noprogress": True}
    params["retries"] = 0
    params["socket_timeout"] = 10
    params["paths"] = {"home": str(home), "temp": str(home)}
    with ThreadPoolExecutor(1) as lookups:
        net = JobNet(CancelToken(), 1024 * 1024, lookups)
        with guarded_youtube_dl(params, UrlGuard(allow_private), net) as ydl:
            yield ydl


def _guard_hooks() -> str:
    with tempfile.TemporaryDirectory() as home, _ydl(False, Path(home)) as ydl:
        names = [h.RH_NAME for h in ydl._request_director.handlers.values()]
    if names != ["guarded_urllib"]:
        raise CheckError(f"requests could go through {names}")
    return "handlers=guarded_urllib"


def _refuses_private() -> str:
    from bot.download.ytdlp_guard import find_fetch_error
    from bot.model.failures import FailureReason

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        with tempfile.TemporaryDirectory() as home, _ydl(False, Path(home)) as ydl:
            try:
                ydl.urlopen(f"http://127.0.0.1:{port}/")
            except Exception as exc:  # noqa: BLE001 - what it raised is the answer
                found = find_fetch_error(exc)
                if found is None or found.reason is not FailureReason.BLOCKED_URL:
                    raise CheckError(f"refused, but not by the guard: {exc!r}") from None
            else:
                raise CheckError("a private address was fetched")
        try:
            listener.accept()
        except BlockingIOError:
            return "127.0.0.1 refused before connecting"
        raise CheckError("a connection reached the private address")


class _Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/clip.mp4":
            body, kind = VIDEO, "video/mp4"
        else:
            body = (
                b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Self-test</title>'
                b'</head>\n<body><video controls src="/clip.mp4"></video>\n</body></html>\n'
            )
            kind = "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _generic_page() -> str:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        with tempfile.TemporaryDirectory() as home, _ydl(True, Path(home)) as ydl:
            url = f"http://127.0.0.1:{server.server_address[1]}/page"
            info = ydl.extract_info(url, download=True)
            files = [p for p in Path(home).iterdir() if p.is_file()]
            if not files or files[0].read_bytes() != VIDEO:
                raise CheckError("the page's video was not downloaded intact")
            return f"extractor={info.get('extractor')} bytes={len(VIDEO)}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _js_runtime(stage: Path) -> str:
    from yt_dlp.utils._jsruntime import DenoJsRuntime

    from bot.download.jsruntime import find_deno

    path = find_deno(stage)
    if path is None:
        raise CheckError("no deno found")
    info = DenoJsRuntime(path=str(path)).info
    if info is None or not info.supported:
        raise CheckError(f"yt-dlp cannot use {path}")
    return f"deno-{info.version}"


def _ejs() -> str:
    import yt_dlp_ejs  # noqa: F401 - importable is the check

    return importlib.metadata.version("yt-dlp-ejs")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
