"""Whether a file may be media at all, from its name and its first bytes, before any ffprobe.

ffprobe costs a process and tens of milliseconds even on a small file (about 70 ms on 64 KB of
random bytes here, more on a larger one it scans), so a file that cannot be sound or moving
pictures goes as a document without it. The test is generous: a container's signature, or a
name (given by the URL, the Content-Disposition or the server's Content-Type) that says media,
is enough to ask ffprobe; only a file that has neither is taken for a document straight away.
"""

from __future__ import annotations

from pathlib import Path

HEAD_BYTES = 400  # enough for two MPEG-TS packets, and every signature below

# The extensions of media containers (what ffprobe's demuxers in kinds.MEDIA_CONTAINERS read).
MEDIA_SUFFIXES = frozenset(
    {
        *(".mp4", ".m4v", ".m4a", ".m4b", ".mov", ".3gp", ".3g2", ".mj2", ".mkv", ".mka"),
        *(".webm", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".vob", ".flv", ".f4v", ".avi"),
        *(".wmv", ".wma", ".asf", ".gif", ".mp3", ".aac", ".flac", ".ogg", ".oga", ".ogv"),
        *(".opus", ".wav", ".aif", ".aiff", ".aifc", ".caf", ".amr", ".wv", ".ape", ".mp2"),
    }
)
# ISO base media (MP4, MOV, 3GP, M4A): the type of the first box, at offset 4.
_ISO_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
_PREFIXES = (
    b"\x1a\x45\xdf\xa3",  # Matroska, WebM
    b"\x00\x00\x01\xba",  # MPEG program stream
    b"\x00\x00\x01\xb3",  # MPEG video elementary stream
    b"FLV",
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",  # ASF: WMV, WMA
    b"GIF87a",
    b"GIF89a",
    b"ID3",  # MP3 (or AAC) with an ID3v2 tag
    b"fLaC",
    b"OggS",
    b"caff",
    b"#!AMR",
    b"wvpk",
    b"MAC ",  # Monkey's Audio
)
_RIFF_KINDS = frozenset({b"AVI ", b"WAVE"})
_AIFF_KINDS = frozenset({b"AIFF", b"AIFC"})
_TS_PACKET, _TS_SYNC = 188, 0x47


def may_be_media(path: Path) -> bool:
    """False only when neither the name nor the first bytes point to a media container."""
    if path.suffix.lower() in MEDIA_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return True  # let ffprobe (and its caller) find out what is wrong
    return looks_like_media(head)


def looks_like_media(head: bytes) -> bool:
    """Whether the first bytes of a file carry a media container's signature."""
    if head[4:8] in _ISO_BOXES or head.startswith(_PREFIXES):
        return True
    if head[:4] == b"RIFF" and head[8:12] in _RIFF_KINDS:
        return True
    if head[:4] == b"FORM" and head[8:12] in _AIFF_KINDS:
        return True
    if len(head) > _TS_PACKET and head[0] == _TS_SYNC == head[_TS_PACKET]:
        return True  # MPEG-TS: a sync byte at the start of two packets
    # An MPEG audio frame (MP3, MP2) or an ADTS AAC frame: 11 bits of frame sync.
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
