"""The top-level boxes ("atoms") of an MP4 as it streams past: where its moov is, without keeping
the file. A player can start an MP4 at once only when moov comes before mdat."""

from __future__ import annotations

import struct

MAX_ATOMS = 64


class AtomScanner:
    """Fed a file chunk by chunk; `atoms` lists its top-level box types in order.

    Stops reading (and `atoms` stays as far as it got) at the first thing that is not a box:
    a file that does not start with `ftyp` has no atoms at all.
    """

    def __init__(self) -> None:
        self._atoms: list[str] = []
        self._header = b""
        self._skip = 0
        self._done = False

    @property
    def atoms(self) -> tuple[str, ...]:
        return tuple(self._atoms) if self._atoms[:1] == ["ftyp"] else ()

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view and not self._done:
            if self._skip:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                continue
            need = 16 if self._header[:4] == b"\0\0\0\1" else 8
            take = need - len(self._header)
            self._header += bytes(view[:take])
            view = view[take:]
            if len(self._header) == need:
                self._box()

    def _box(self) -> None:
        size, kind = struct.unpack(">I4s", self._header[:8])
        if size == 1 and len(self._header) == 8:
            return  # a 64-bit size follows: read 8 more bytes first
        header = len(self._header)
        if size == 1:
            size = struct.unpack(">Q", self._header[8:16])[0]
        self._header = b""
        if not kind.isascii() or not kind.decode("ascii").isprintable():
            self._done = True
            return
        self._atoms.append(kind.decode("ascii"))
        if size == 0 or size < header or len(self._atoms) >= MAX_ATOMS:
            self._done = True  # "to the end of the file", or not a box after all
            return
        self._skip = size - header
