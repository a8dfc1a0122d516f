"""Deterministic pseudo-random file content, addressable at any offset, for the media server."""

from __future__ import annotations

import hashlib
import random

BLOCK = 64 * 1024


def block(name: str, index: int) -> bytes:
    """Block `index` of the content named `name` (the same bytes on every run and machine)."""
    seed = hashlib.sha256(f"{name}\0{index}".encode()).digest()
    return random.Random(seed).randbytes(BLOCK)


class Content:
    """Reads ranges of the content of one name, keeping the last block it generated."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._cached: tuple[int, bytes] | None = None

    def _block(self, index: int) -> bytes:
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, block(self._name, index))
        return self._cached[1]

    def read(self, offset: int, size: int) -> bytes:
        """`size` bytes starting at `offset`."""
        parts: list[bytes] = []
        while size > 0:
            index, start = divmod(offset, BLOCK)
            piece = self._block(index)[start : start + size]
            parts.append(piece)
            offset += len(piece)
            size -= len(piece)
        return b"".join(parts)


def sha256_of(name: str, size: int) -> str:
    """The sha256 of the first `size` bytes of the content named `name`."""
    digest = hashlib.sha256()
    full, rest = divmod(size, BLOCK)
    for index in range(full):
        digest.update(block(name, index))
    if rest:
        digest.update(block(name, full)[:rest])
    return digest.hexdigest()
