"""PTB request classes: one that retries what is safe to retry, one that watches getUpdates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from telegram.error import NetworkError
from telegram.request import HTTPXRequest, RequestData

from bot.telegram_io.failures import TooLargeError, sent_of_error
from bot.telegram_io.polling import PollMonitor
from bot.telegram_io.retry import RetryPolicy, TransientError, with_retries

log = logging.getLogger(__name__)

StatusHook = Callable[[str, int], None]


def _method_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


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

        # A retry sends a streamed file part whole: httpx seeks each file back to 0 when it
        # renders the multipart body (tests/unit/test_request.py checks it stays so).
        async def once() -> tuple[int, bytes]:
            try:
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
        return status, body


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
