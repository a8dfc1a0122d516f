"""Bounded Content-Encoding decoding: right bytes out, never a piece bigger than asked for."""

from __future__ import annotations

import gzip
import zlib

import pytest

from bot.download.decoding import BodyDecoder, UnsupportedEncodingError, encodings
from tests.fakes.bombs import gzip_zeros

PIECE = 64 * 1024


def decode(decoder: BodyDecoder, body: bytes, chunk: int = 1000) -> list[bytes]:
    pieces: list[bytes] = []
    for start in range(0, len(body), chunk):
        pieces += decoder.feed(body[start : start + chunk])
    pieces += decoder.finish()
    return pieces


def test_two_layers_of_gzip_decode_to_the_original() -> None:
    original = bytes(range(256)) * 3000
    body = gzip.compress(gzip.compress(original))
    pieces = decode(BodyDecoder.for_header("gzip, gzip", PIECE), body)
    assert b"".join(pieces) == original
    assert max(len(p) for p in pieces) <= PIECE


@pytest.mark.parametrize("wrapped", [True, False])
def test_deflate_wrapped_or_raw(wrapped: bool) -> None:
    original = b"media bytes " * 10_000
    packer = zlib.compressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    body = packer.compress(original) + packer.flush()
    assert b"".join(decode(BodyDecoder.for_header("deflate", PIECE), body)) == original


def test_a_bomb_comes_out_a_piece_at_a_time() -> None:
    # 1 GiB of zeros in two layers of gzip: a few kilobytes on the wire.
    body = gzip.compress(gzip_zeros(1024**3))
    assert len(body) < 64 * 1024
    decoder = BodyDecoder.for_header("gzip, gzip", PIECE)
    seen = 0
    for piece in decoder.feed(body):
        assert len(piece) <= PIECE
        seen += len(piece)
        if seen >= 8 * 1024 * 1024:
            break  # what a caller does at its limit: nothing more is decoded
    assert seen == 8 * 1024 * 1024


def test_concatenated_gzip_members_and_trailing_junk() -> None:
    body = gzip.compress(b"first ") + gzip.compress(b"second") + b"\x00junk"
    assert b"".join(decode(BodyDecoder.for_header("x-gzip", PIECE), body, 7)) == b"first second"


def test_identity_passes_through() -> None:
    decoder = BodyDecoder.for_header("identity")
    assert decoder.identity
    assert decode(decoder, b"abc") == [b"abc"]
    assert encodings(" GZIP , identity,deflate ") == ["gzip", "deflate"]
    assert encodings(None) == []


@pytest.mark.parametrize("header", ["br", "gzip, zstd", "gzip, gzip, gzip, gzip", "compress"])
def test_unsupported_or_stacked_encodings_are_refused(header: str) -> None:
    with pytest.raises(UnsupportedEncodingError):
        BodyDecoder.for_header(header)


def test_a_corrupt_body_raises() -> None:
    decoder = BodyDecoder.for_header("gzip")
    with pytest.raises(zlib.error):
        list(decoder.feed(b"\x1f\x8b\x08\x00not really gzip at all"))
