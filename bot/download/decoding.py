"""Content-Encoding decoded a bounded piece at a time, so no chunk grows past what is counted.

httpx decodes each chunk with one unbounded `decompress()`, and yt-dlp a whole body at once:
a few kilobytes of `gzip, gzip` become gigabytes in memory before anyone counts a byte. Here
every layer yields at most `piece` bytes per step; the caller counts (and stops) between steps.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

PIECE = 256 * 1024
MAX_LAYERS = 3  # "gzip, gzip" is legal but odd; a stack of them is only ever an attack
_GZIP = ("gzip", "x-gzip")
_DEFLATE = ("deflate",)


class UnsupportedEncodingError(ValueError):
    """The body is encoded in a way this module does not decode (or in too many layers)."""


def encodings(header: str | None) -> list[str]:
    """The encodings named by a Content-Encoding header, in the order they were applied."""
    names = [part.strip().lower() for part in (header or "").split(",")]
    return [name for name in names if name and name != "identity"]


class _Layer:
    """One gzip or deflate layer; `feed` and `finish` yield pieces of at most `piece` bytes."""

    def __init__(self, name: str, piece: int) -> None:
        self._gzip = name in _GZIP
        self._piece = piece
        self._inflater: zlib._Decompress | None = None
        if self._gzip:
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._done = False  # the (last) gzip member ended; what follows is trailing junk

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            # "deflate" is zlib-wrapped by the standard and raw in practice: look, like httpx.
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        while data and not self._done:
            yield from self._drain(data)
            data = self._inflater.unused_data if self._inflater.eof else b""
            if self._inflater.eof:
                if self._gzip and data[:2] == b"\x1f\x8b":  # another gzip member follows
                    self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
                else:
                    self._done = True  # like yt-dlp and browsers: junk after the end is ignored

    def finish(self) -> Iterator[bytes]:
        if self._inflater is not None and not self._done:
            yield from self._drain(b"")
            if tail := self._inflater.flush():
                yield tail  # what is left once all input is in and drained: a few bytes

    def _drain(self, data: bytes) -> Iterator[bytes]:
        assert self._inflater is not None  # noqa: S101 - set before the first drain
        while True:
            out = self._inflater.decompress(data, self._piece)
            data = self._inflater.unconsumed_tail
            if out:
                yield out
            # A full piece may leave output pending inside zlib even with no input left.
            if self._inflater.eof or (not data and len(out) < self._piece):
                return


class BodyDecoder:
    """Decodes a body's Content-Encoding layers (gzip, deflate) in bounded pieces."""

    def __init__(self, names: Sequence[str], piece: int = PIECE) -> None:
        unknown = [name for name in names if name not in _GZIP + _DEFLATE]
        if unknown:
            raise UnsupportedEncodingError(f"the body is encoded as {', '.join(unknown)}")
        if len(names) > MAX_LAYERS:
            raise UnsupportedEncodingError(f"the body is encoded {len(names)} times over")
        # Applied first, decoded last.
        self._layers = [_Layer(name, piece) for name in reversed(names)]

    @classmethod
    def for_header(cls, header: str | None, piece: int = PIECE) -> BodyDecoder:
        return cls(encodings(header), piece)

    @property
    def identity(self) -> bool:
        return not self._layers

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of `raw`; raises zlib.error on a corrupt body."""
        return self._through(0, raw)

    def finish(self) -> Iterator[bytes]:
        """What the layers still hold once the raw body has ended."""
        for index, layer in enumerate(self._layers):
            for out in layer.finish():
                yield from self._through(index + 1, out)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        for out in self._layers[index].feed(data):
            yield from self._through(index + 1, out)
