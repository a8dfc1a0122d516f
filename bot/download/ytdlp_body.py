"""The body yt-dlp reads from a response: decoded in bounded pieces, capped, stoppable.

yt-dlp's urllib handler decodes gzip by reading the whole body and decompressing it at once,
and its extractors read a page whole (`urlh.read()`): an endless page or a gzip bomb is held
entirely in memory, by a thread that no cancel reaches. `ytdlp_guard` hands yt-dlp this body
instead of the raw response:

- raw bytes come a chunk at a time (`read1`: whatever has arrived), and the job's stop signal
  and deadline are checked before each read;
- each Content-Encoding layer is decoded a bounded piece at a time (`decoding.BodyDecoder`);
- reading the whole body, which is what extractors do with pages, manifests and API answers,
  holds at most `max_body` bytes (MAX_PAGE_MB): past that it fails with PAGE_TOO_LARGE.
  Partial reads (`read(n)`, how yt-dlp's downloaders stream media to disk) return at most n
  bytes each and are bounded in total by the job's size limit, checked in the progress hook.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Callable, Iterator
from typing import Any

from bot.download.decoding import BodyDecoder
from bot.model.failures import FailureReason, FetchError

RAW_CHUNK = 64 * 1024


class BoundedBody(io.RawIOBase):
    """A file-like body over `raw`; `check_stop` raises when the job must stop."""

    def __init__(
        self,
        raw: http.client.HTTPResponse,
        decoder: BodyDecoder,
        check_stop: Callable[[], None],
        max_body: int,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._decoder = decoder
        self._check_stop = check_stop
        self._max_body = max_body
        self._pieces: Iterator[bytes] = iter(())
        self._leftover = b""
        self._raw_done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if self.closed or size == 0:
            return b""
        data = self._leftover or self._next_piece()
        self._leftover = data[size:]
        return data[:size]

    def readall(self) -> bytes:
        if self.closed:
            return b""
        parts, held = [self._leftover], len(self._leftover)
        self._leftover = b""
        while piece := self._next_piece():
            held += len(piece)
            if held > self._max_body:
                self.close()  # the connection goes now, not when the garbage collector runs
                raise FetchError(
                    FailureReason.PAGE_TOO_LARGE,
                    f"a response body is larger than {self._max_body} bytes",
                    limit=self._max_body,
                )
            parts.append(piece)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()

    def _stop_check(self) -> None:
        try:
            self._check_stop()
        except BaseException:
            self.close()
            raise

    def _next_piece(self) -> bytes:
        """The next decoded piece; b"" at the end of the body, which also closes it."""
        while True:
            if piece := next(self._pieces, b""):
                return piece
            if self._raw_done or self.closed:
                self.close()
                return b""
            self._stop_check()
            chunk = self._raw.read1(RAW_CHUNK)
            self._stop_check()  # a stop ends a blocked read as if the body had ended: it has not
            if chunk:
                self._pieces = self._decoder.feed(chunk)
            else:
                self._pieces = self._decoder.finish()
                self._raw_done = True
