"""yt-dlp behind the URL guard and the job's stop signal: every request, redirect hop,
connection and read it makes is vetted, bounded and stoppable."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.download.decoding import BodyDecoder, UnsupportedEncodingError
from bot.download.ytdlp_body import BoundedBody
from bot.download.ytdlp_net import JobNet, JobSockets, connection_classes
from bot.model.failures import FailureReason, FetchError

if TYPE_CHECKING:
    import yt_dlp

    from bot.download.safety import UrlGuard

# ffmpeg may still be started by yt-dlp's HLS downloader for streams it cannot handle; limited to
# these protocols it cannot fetch playlists or segments that this module has not checked.
_FFMPEG_INPUT_ARGS = ["-protocol_whitelist", "file,crypto,data"]
BODY_PIECE = 64 * 1024

__all__ = ["JobNet", "find_fetch_error", "guarded_youtube_dl"]


def find_fetch_error(exc: BaseException) -> FetchError | None:
    """The FetchError behind an exception yt-dlp raised (it wraps ours as cause or exc_info)."""
    queue: deque[BaseException] = deque([exc])
    seen: set[int] = set()
    while queue:
        current = queue.popleft()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, FetchError):
            return current
        exc_info = getattr(current, "exc_info", None)
        links = (
            current.__cause__,
            getattr(current, "cause", None),
            exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None,
            current.__context__,
        )
        queue.extend(link for link in links if isinstance(link, BaseException))
    return None


def guarded_youtube_dl(
    params: Mapping[str, Any], guard: UrlGuard, net: JobNet
) -> yt_dlp.YoutubeDL:
    """A YoutubeDL whose every request, redirect hop, connection and read passes `guard` and
    answers `net.stop`.

    Requests go only through a urllib handler that connects to addresses the guard resolved
    and vetted itself (so DNS rebinding cannot slip in between check and connect) and checks
    each redirect target; through a proxy, URLs are checked instead. Every socket it opens is
    shut down the moment the job stops, which ends a blocked connect, TLS handshake or read
    at once; bodies are read through `BoundedBody`. Downloads stay native: external
    downloaders and rtmpdump are refused, and ffmpeg may read only local inputs (unless the
    guard allows private addresses). Call it in the worker thread: it imports yt-dlp, which
    start-up should not pay for.
    """
    safe_params: dict[str, Any] = {**params, "enable_file_urls": False}
    if not guard.allow_private:
        safe_params["external_downloader"] = {"default": "native"}
        safe_params["external_downloader_args"] = {"ffmpeg_i": _FFMPEG_INPUT_ARGS}
    return _guarded_class(guard, net)(safe_params)


def _guarded_class(guard: UrlGuard, net: JobNet) -> Any:
    # yt-dlp has no public hook for this, so these are its internals (pinned in
    # requirements.txt); tests/unit/test_safety.py fails if an upgrade moves them.
    import urllib.request
    import urllib.response

    import yt_dlp
    from yt_dlp.downloader import get_suitable_downloader
    from yt_dlp.downloader.external import ExternalFD
    from yt_dlp.downloader.rtmp import RtmpFD
    from yt_dlp.downloader.websocket import FFmpegSinkFD
    from yt_dlp.networking import _urllib
    from yt_dlp.networking.exceptions import RequestError
    from yt_dlp.utils import DownloadCancelled
    from yt_dlp.utils.networking import select_proxy

    sockets = JobSockets(guard, net)
    stop = net.stop

    def check_stop() -> None:
        if stop.cancelled:
            raise DownloadCancelled(str(stop.reason or "cancelled"))

    def refuse_unsafe(url: str, proxies: dict[str, Any]) -> None:
        if urlsplit(url).scheme.lower() == "data":
            return
        # Direct connections are vetted when they connect; a proxied one only by its URL.
        proxied = select_proxy(url, proxies) is not None
        try:
            guard.check_url_sync(url, resolve=proxied)
        except FetchError as exc:
            # yt-dlp treats any other exception from a handler as a bug and tries the next one.
            raise RequestError(str(exc), cause=exc) from exc

    direct, proxied = connection_classes(sockets)

    # Subclassing yt-dlp's classes: mypy sees them as Any.
    class VettedHTTPHandler(_urllib.HTTPHandler):  # type: ignore[misc]
        @staticmethod
        def _make_conn_class(base: Any, req: urllib.request.Request) -> Any:
            through_proxy = req.has_proxy() or getattr(req, "_tunnel_host", None)
            conn_class = _urllib.HTTPHandler._make_conn_class(base, req)
            if conn_class is not base:
                return conn_class  # SOCKS: the proxy is the peer; registered once connected
            return (proxied if through_proxy else direct)[base]

        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            def connection(*args: Any, **kw: Any) -> Any:
                conn = http_class(*args, **kw)
                connect = conn.connect

                def connect_and_register() -> None:
                    connect()
                    if conn.sock is not None:  # a SOCKS connection opens its socket itself
                        sockets.add(conn.sock)

                conn.connect = connect_and_register
                return conn

            return super().do_open(connection, req, **kwargs)

        def http_response(self, req: Any, resp: Any) -> Any:
            # Instead of yt-dlp's: it reads and decodes the whole body here, unbounded.
            try:
                decoder = BodyDecoder.for_header(resp.headers.get("Content-Encoding"), BODY_PIECE)
            except UnsupportedEncodingError:
                decoder = BodyDecoder([], BODY_PIECE)  # as yt-dlp does: left as it came
            body = BoundedBody(resp, decoder, check_stop, net.max_body)
            wrapped = urllib.response.addinfourl(
                body,  # type: ignore[arg-type]  # a file-like body, as urllib's own BytesIO
                resp.headers,
                resp.url,
                resp.code,
            )
            wrapped.msg = resp.msg  # type: ignore[attr-defined]  # what urllib's callers read
            return wrapped

        https_response = http_response

    class CheckedRedirectHandler(_urllib.RedirectHandler):  # type: ignore[misc]
        def __init__(self, proxies: dict[str, Any]) -> None:
            super().__init__()
            self._proxies = proxies

        def redirect_request(
            self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
        ) -> Any:
            refuse_unsafe(newurl, self._proxies)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    class GuardedUrllibRH(_urllib.UrllibRH):  # type: ignore[misc]
        _SUPPORTED_URL_SCHEMES = ("http", "https", "data")
        RH_NAME = "guarded_urllib"

        def _send(self, request: Any) -> Any:
            refuse_unsafe(request.url, self._get_proxies(request))
            return super()._send(request)

        def _create_instance(
            self, proxies: dict[str, Any], cookiejar: Any, legacy_ssl_support: Any = None
        ) -> urllib.request.OpenerDirector:
            # UrllibRH's own list, with the vetting handlers in place and FTP left out.
            opener = urllib.request.OpenerDirector()
            context = self._make_sslcontext(legacy_ssl_support=legacy_ssl_support)
            for handler in (
                _urllib.ProxyHandler(proxies),
                VettedHTTPHandler(
                    debuglevel=int(bool(self.verbose)),
                    context=context,
                    source_address=self.source_address,
                ),
                urllib.request.HTTPCookieProcessor(cookiejar),
                urllib.request.DataHandler(),
                urllib.request.UnknownHandler(),
                urllib.request.HTTPDefaultErrorHandler(),
                urllib.request.HTTPErrorProcessor(),
                CheckedRedirectHandler(proxies),
            ):
                opener.add_handler(handler)
            opener.addheaders = []
            return opener

    class GuardedYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
        @functools.cached_property
        def _request_director(self) -> Any:
            # Only the guarded handler: yt-dlp's own list (_REQUEST_HANDLERS) has requests' and
            # websockets' handlers too once the `default` extra is installed, and would prefer
            # them (tests/unit/test_ytdlp_handlers.py fails if another one can be chosen).
            return self.build_request_director([GuardedUrllibRH])

        def urlopen(self, req: Any) -> Any:
            check_stop()  # every request, retries included, meets the stop here first
            return super().urlopen(req)

        def close(self) -> None:
            sockets.close()
            super().close()

        def dl(
            self, name: str, info: dict[str, Any], subtitle: bool = False, test: bool = False
        ) -> Any:
            fd = get_suitable_downloader(info, self.params, to_stdout=name == "-")
            # The websocket downloader (installed with the `default` extra's websockets) opens
            # its socket with the websockets library itself, runs a second event loop in a
            # thread of its own and ends with SIGINT to this process: never, even on a trusted
            # setup.
            if fd is not None and issubclass(fd, FFmpegSinkFD):
                raise FetchError(
                    FailureReason.UNSUPPORTED,
                    f"{fd.__name__} connects by itself and signals the process when done",
                )
            if not guard.allow_private and fd is not None and issubclass(fd, ExternalFD | RtmpFD):
                raise FetchError(
                    FailureReason.UNSUPPORTED,
                    f"{fd.__name__} would open connections that cannot be checked",
                )
            return super().dl(name, info, subtitle=subtitle, test=test)

    return GuardedYoutubeDL
