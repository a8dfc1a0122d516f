"""The Bot API's error answers, as the fake server sends them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
DEFAULT_DESCRIPTIONS: Mapping[int, str] = MappingProxyType(
    {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: CONFLICT,
        413: "Request Entity Too Large",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }
)


class ApiError(Exception):
    """A Bot API error answer: raised by method implementations, sent as Telegram's JSON."""

    def __init__(
        self, status: int, description: str | None = None, *, retry_after: int | None = None
    ) -> None:
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        self.status = status
        self.description = description or DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        self.retry_after = retry_after
        super().__init__(f"{status} {self.description}")

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body
