"""PTB request classes: one that retries what is safe to retry (sends a streamed body once, and
holds the last byte of a fenced one), one that watches getUpdates."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable
from http import HTTPStatus
from typing import Any

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

from bot.telegram_io.answers import note
from bot.telegram_io.failures import (
    AnswerLostError,
    Sent,
    TooLargeError,
    sent_of_error,
    sent_of_status,
)
from bot.telegram_io.held import Fence, HeldBody, fence_of, holders_of
from bot.telegram_io.polling import PollMonitor
from bot.telegram_io.retry import RetryPolicy, TransientError, with_retries

log = logging.getLogger(__name__)

StatusHook = Callable[[str, int], None]


def _method_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


# PTB marks RequestData final for its users; only our own do_request reads this one (PTB's
# answer handling around it never looks inside), so the body rides PTB's error mapping as is.
class StreamedData(RequestData):  # type: ignore[misc]
    """A request whose body is a stream of its own (upload/streaming.py), of exactly `length`
    bytes. Sent once, never retried: a stream cannot be replayed. `whole` says whether every
    byte of it was written, which decides what a failure means: before that, Telegram never
    got a whole request (not sent); after it, the answer was lost (unknown)."""

    __slots__ = ("body", "content_type", "length", "whole")

    def __init__(
        self,
        body: AsyncIterable[bytes],
        content_type: str,
        length: int,
        whole: Callable[[], bool],
    ) -> None:
        super().__init__()
        self.body = body
        self.content_type = content_type
        self.length = length
        self.whole = whole


class RetryingRequest(HTTPXRequest):
    """Every Bot API call through this class survives floods, 5xx and network errors; a call
    whose answer was lost is repeated only when that cannot do anything twice (AnswerLostError
    otherwise, a NetworkError its caller can tell apart)."""

    def __init__(
        self,
        *,
        policy: RetryPolicy,
        on_status: StatusHook | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._policy = policy
        self._on_status = on_status

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = _method_of(url)
        limits = self._timeout(read_timeout, write_timeout, connect_timeout, pool_timeout)
        if isinstance(request_data, StreamedData):
            return await self._stream(url, method, request_data, limits)
        fence = fence_of(request_data)

        # A retry sends a streamed file part whole: httpx seeks each file back to 0 when it
        # renders the multipart body (tests/unit/test_request.py checks it stays so).
        async def once() -> tuple[int, bytes]:
            try:
                if request_data is not None and fence is not None:
                    status, body = await self._held(url, method, request_data, fence, limits)
                else:
                    status, body = await HTTPXRequest.do_request(
                        self,
                        url,
                        method,
                        request_data,
                        read_timeout=read_timeout,
                        write_timeout=write_timeout,
                        connect_timeout=connect_timeout,
                        pool_timeout=pool_timeout,
                    )
            except NetworkError as exc:  # includes TimedOut
                if self._on_status is not None:
                    self._on_status(name, 0)
                raise TransientError(str(exc), sent_of_error(exc)) from exc
            if self._on_status is not None:
                self._on_status(name, status)
            return status, body

        try:
            status, body = await with_retries(once, self._policy, name)
        except TransientError as exc:
            cause = exc.__cause__
            raise cause if isinstance(cause, NetworkError) else NetworkError(str(exc)) from exc
        if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:  # PTB would make it a NetworkError
            raise TooLargeError(f"{name}: Request Entity Too Large (413)")
        note(status)
        return status, body

    async def _stream(
        self, url: str, method: str, data: StreamedData, limits: httpx.Timeout
    ) -> tuple[int, bytes]:
        """One try of a streamed body, through the same client (proxy, pool) as every call."""
        name = _method_of(url)
        headers = {
            "User-Agent": self.USER_AGENT,
            "Content-Type": data.content_type,
            "Content-Length": str(data.length),  # httpx then sends it as it is, not chunked
        }
        try:
            response = await self._client.request(
                method, url, headers=headers, content=data.body, timeout=limits
            )
        except httpx.HTTPError as exc:
            if self._on_status is not None:
                self._on_status(name, 0)
            if data.whole() and sent_of_error(exc) is Sent.UNKNOWN:
                log.warning("bot_api_answer_unknown method=%s choice=not_retried", name)
                raise AnswerLostError(name, f"httpx.{type(exc).__name__}") from exc
            raise NetworkError(f"httpx.{type(exc).__name__}: {exc}") from exc  # not sent
        status, body = response.status_code, response.content
        if self._on_status is not None:
            self._on_status(name, status)
        if status >= 500 and data.whole() and sent_of_status(status, body) is Sent.UNKNOWN:
            log.warning("bot_api_answer_unknown method=%s choice=not_retried", name)
            raise AnswerLostError(name, f"HTTP {status}")
        if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            raise TooLargeError(f"{name}: Request Entity Too Large (413)")
        note(status)
        return status, body

    async def _held(
        self, url: str, method: str, data: RequestData, fence: Fence, limits: httpx.Timeout
    ) -> tuple[int, bytes]:
        """PTB's own request, its body's last byte held until `fence` passes (held.py)."""
        request = self._client.build_request(
            method,
            url,
            headers={"User-Agent": self.USER_AGENT},
            files=data.multipart_data,
            data=data.json_parameters,
            timeout=limits,
        )
        if not isinstance(request.stream, httpx.AsyncByteStream):  # an AsyncClient's always is
            raise TypeError("a held body needs an async stream")
        holders = holders_of(data)
        request.stream = HeldBody(request.stream, fence, holders)
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException as exc:  # as PTB maps them
            raise TimedOut(f"httpx.{type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"httpx.{type(exc).__name__}: {exc}") from exc
        status, body = response.status_code, response.content
        if status >= 300 and sent_of_status(status, body) is Sent.NO:
            # Refused (a 429, a 4xx, a gateway that answered): Telegram has nothing. Until a
            # retry has the whole body out again, the upload is not handed over, so a stop
            # while it waits for that retry is a send that never happened.
            for holder in holders:
                holder(True)
        return status, body

    def _timeout(self, read: Any, write: Any, connect: Any, pool: Any) -> httpx.Timeout:
        """The call's timeouts, each the client's own where the call left it unset."""
        own = self._client.timeout

        def pick(value: Any, default: float | None) -> float | None:
            return default if isinstance(value, DefaultValue) else value

        return httpx.Timeout(
            connect=pick(connect, own.connect),
            read=pick(read, own.read),
            write=pick(write, own.write),
            pool=pick(pool, own.pool),
        )


class PollingRequest(HTTPXRequest):
    """The getUpdates connection: tells the PollMonitor each time a round trip finishes."""

    def __init__(self, *, monitor: PollMonitor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._monitor = monitor

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        status, body = await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if _method_of(url).lower() == "getupdates":
            self._monitor.record(status)
        return status, body
