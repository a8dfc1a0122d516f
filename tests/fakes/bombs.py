"""Compression bombs for the hostile server: gigabytes of one repeated byte in kilobytes.

Built without compressing gigabytes: after a full flush deflate starts afresh, so every MiB of
the same byte compresses to the very same block, and the member is that block repeated.
"""

from __future__ import annotations

import functools
import gzip
import struct
import zlib
from collections.abc import Iterator

BLOCK = 1024 * 1024


@functools.cache
def _block(fill: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    packer.compress(b"")
    return packer.compress(fill * BLOCK) + packer.flush(zlib.Z_FULL_FLUSH)


def _crc(prefix: bytes, fill: bytes, size: int) -> int:
    crc = zlib.crc32(prefix)
    block = fill * BLOCK
    whole, rest = divmod(size, BLOCK)
    for _ in range(whole):
        crc = zlib.crc32(block, crc)
    return zlib.crc32(fill * rest, crc)


def gzip_stream(fill: bytes = b"\0", prefix: bytes = b"") -> Iterator[bytes]:
    """An endless gzip member: `prefix`, then `fill` for ever (no trailer ever comes)."""
    yield _header() + _flushed(prefix)
    block = _block(fill)
    while True:
        yield block


@functools.cache
def gzip_fill(size: int, fill: bytes = b"\0", prefix: bytes = b"") -> bytes:
    """A valid gzip member of `prefix` followed by `size` bytes of `fill`."""
    whole, rest = divmod(size, BLOCK)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    tail = packer.compress(fill * rest) + packer.flush(zlib.Z_FINISH)
    trailer = struct.pack("<II", _crc(prefix, fill, size), (len(prefix) + size) & 0xFFFFFFFF)
    return b"".join(
        [_header(), _flushed(prefix), _block(fill) * whole, tail, trailer],
    )


@functools.cache
def gzip_layers(size: int, layers: int) -> bytes:
    """`size` zero bytes in `layers` layers of gzip (`Content-Encoding: gzip, gzip` for 2)."""
    body = gzip_fill(size)
    for _ in range(layers - 1):
        body = gzip.compress(body, mtime=0)
    return body


def gzip_zeros(size: int) -> bytes:
    """`size` zero bytes as one gzip member."""
    return gzip_fill(size)


def _header() -> bytes:
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def _flushed(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH) if data else b""


@functools.cache
def png_bomb(width: int, height: int) -> bytes:
    """A valid one-bit greyscale PNG of `width` x `height` black pixels: a 30000 x 30000 picture
    (900 megapixels, gigabytes once decoded) in about a hundred kilobytes."""
    row = b"\0" + b"\0" * ((width + 7) // 8)  # filter type 0, then the packed pixels
    packer = zlib.compressobj(9)
    rows = 1024
    chunk = row * rows
    data: list[bytes] = []
    whole, rest = divmod(height, rows)
    data.extend(packer.compress(chunk) for _ in range(whole))
    data.append(packer.compress(row * rest) + packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunks = (_png_chunk(b"IHDR", header), _png_chunk(b"IDAT", b"".join(data)))
    return b"".join([b"\x89PNG\r\n\x1a\n", *chunks, _png_chunk(b"IEND", b"")])


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
