"""Which yt-dlp this process imports: the one installed with the code, or a newer one that
`python main.py update-ytdlp` staged under DATA_DIR and tested.

The code and its venv are read-only under the systemd unit (ProtectSystem=strict); DATA_DIR is
not, so updates live there: DATA_DIR/ytdlp/<version>/ (a `pip install --target` of yt-dlp with
its extras) and DATA_DIR/ytdlp/state.json naming the current and the previous one. A staged
yt-dlp goes first on sys.path at start-up, before anything imports yt-dlp, and only when it is
newer than the installed one (an upgrade of the code that brings a newer pin wins).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

STAGE_DIR = "ytdlp"
STATE_FILE = "state.json"


@dataclass(frozen=True, slots=True)
class StageState:
    """The staged versions in force: `current` (None: the installed one) and the one before."""

    current: str | None = None
    previous: str | None = None


def stage_root(data_dir: Path) -> Path:
    return data_dir / STAGE_DIR


def stage_path(data_dir: Path, version: str) -> Path:
    return stage_root(data_dir) / version


def version_key(version: str) -> tuple[int, ...]:
    """yt-dlp's date versions (2026.11.23, 2026.11.23.1) as comparable numbers."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def read_state(data_dir: Path) -> StageState:
    """The state file; a missing or unreadable one means nothing is staged."""
    try:
        raw = json.loads((stage_root(data_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return StageState()
    if not isinstance(raw, dict):
        return StageState()

    def name(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) and re.fullmatch(r"[0-9][0-9.]*", value) else None

    return StageState(name("current"), name("previous"))


def write_state(data_dir: Path, state: StageState) -> None:
    """Replace the state file atomically: a crash leaves the old one or the new one."""
    root = stage_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / (STATE_FILE + ".tmp")
    tmp.write_text(
        json.dumps({"current": state.current, "previous": state.previous}), encoding="utf-8"
    )
    tmp.replace(root / STATE_FILE)


def installed_version(data_dir: Path) -> str | None:
    """The yt-dlp installed with the code (the venv's), whatever is staged."""
    root = str(stage_root(data_dir).resolve())
    paths = [p for p in sys.path if not str(Path(p or ".").resolve()).startswith(root)]
    for dist in importlib.metadata.distributions(name="yt-dlp", path=paths):
        return str(dist.version)
    return None


def active_stage(data_dir: Path) -> Path | None:
    """The staged yt-dlp this process uses, or None for the installed one."""
    current = read_state(data_dir).current
    if current is None:
        return None
    path = stage_path(data_dir, current)
    if not (path / "yt_dlp").is_dir():
        return None
    installed = installed_version(data_dir)
    if installed is not None and version_key(installed) >= version_key(current):
        return None  # the code's own pin caught up: the stage is left unused
    return path


def activate(data_dir: Path) -> Path | None:
    """Put the staged yt-dlp first on sys.path (call before anything imports yt-dlp)."""
    path = active_stage(data_dir)
    if path is not None and str(path) not in sys.path:
        sys.path.insert(0, str(path))
        importlib.invalidate_caches()
    return path
