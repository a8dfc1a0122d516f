"""An MP4's top-level boxes ("atoms"), read from their headers: is its index (moov) first?

A player can start an MP4 while it loads only when moov comes before the media (mdat);
`ffmpeg -movflags +faststart` puts it there.
"""

from __future__ import annotations

import struct
from pathlib import Path

MAX_ATOMS = 64  # an MP4 has a handful at its top level; past this it is not worth reading


def top_level_atoms(path: Path) -> list[str]:
    """The types of the file's top-level boxes in order; [] when it does not start with ftyp.

    Reads only the box headers, seeking past each box (blocking: call it in a thread).
    """
    atoms: list[str] = []
    with path.open("rb") as handle:
        end = handle.seek(0, 2)
        position = 0
        while position + 8 <= end and len(atoms) < MAX_ATOMS:
            handle.seek(position)
            size, kind = struct.unpack(">I4s", handle.read(8))
            header = 8
            if size == 1:
                size = struct.unpack(">Q", handle.read(8))[0]
                header = 16
            elif size == 0:
                size = end - position  # the last box runs to the end of the file
            if not kind.isascii() or not kind.decode("ascii").isprintable() or size < header:
                break
            atoms.append(kind.decode("ascii"))
            position += size
    return atoms if atoms[:1] == ["ftyp"] else []


def moov_first(path: Path) -> bool:
    """Whether the file is an MP4 whose moov comes before its first mdat."""
    atoms = top_level_atoms(path)
    if "moov" not in atoms:
        return False
    return "mdat" not in atoms or atoms.index("moov") < atoms.index("mdat")
