"""Removes what interrupted jobs left under DATA_DIR/jobs: folders of no unfinished job."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def sweep_stale(jobs_dir: Path, keep: set[str], cutoff: float) -> int:
    """Delete entries of `jobs_dir` not named in `keep` and untouched since `cutoff`."""
    if not jobs_dir.is_dir():
        return 0
    removed = 0
    for entry in jobs_dir.iterdir():
        try:
            if entry.name in keep or entry.lstat().st_mtime >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:
            log.warning("sweep_failed path=%s error=%s", entry, exc)
            continue
        log.info("stale_removed path=%s", entry)
        removed += 1
    return removed
