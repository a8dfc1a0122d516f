"""`python main.py update-ytdlp [--rollback]`: stage the newest yt-dlp under DATA_DIR, test it
(selftest.py, its own process), and only then name it the one to use from the next start.

DATA_DIR is what the systemd unit may write (ProtectSystem=strict leaves the code and its venv
read-only), so this works there as it does from a checkout. A stage holds only what differs
from the venv (the same deno or certifi is not stored twice); the current and the previous
stage are kept, for `--rollback`. One update at a time (a lock in the stage folder).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bot
from bot.config.ytdlp_stage import (
    StageState,
    active_stage,
    installed_version,
    read_state,
    stage_path,
    stage_root,
    version_key,
    write_state,
)
from bot.upgrade import pip

log = logging.getLogger(__name__)

SELFTEST_TIMEOUT_S = 180.0
KEPT = frozenset({"yt-dlp", "yt-dlp-ejs"})  # always from the stage, even when equal


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What an update did: the line it prints and its exit code."""

    line: str
    code: int


class UpdateBusyError(Exception):
    """Another update holds the lock."""


def current_version(data_dir: Path) -> str | None:
    """The yt-dlp the next start uses: the staged one if it is in force, else the venv's."""
    stage = active_stage(data_dir)
    state = read_state(data_dir)
    return state.current if stage is not None else installed_version(data_dir)


def update(data_dir: Path) -> UpdateResult:
    with _locked(data_dir):
        old = current_version(data_dir) or "none"
        newest = pip.newest_version()
        if old != "none" and version_key(newest) <= version_key(old):
            return UpdateResult(f"already_newest version={old}", 0)
        root = stage_root(data_dir)
        partial = root / f"{newest}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            pip.install(newest, partial)
            _drop_what_the_venv_has(partial, data_dir)
            failed = self_test(partial, newest)
            if failed is not None:
                return UpdateResult(f"self_test_failed version={newest} check={failed}", 1)
            final = stage_path(data_dir, newest)
            shutil.rmtree(final, ignore_errors=True)
            partial.rename(final)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        previous = read_state(data_dir).current if active_stage(data_dir) is not None else None
        write_state(data_dir, StageState(current=newest, previous=previous))
        _prune(data_dir)
        return UpdateResult(f"updated from={old} to={newest}", 0)


def rollback(data_dir: Path) -> UpdateResult:
    with _locked(data_dir):
        state = read_state(data_dir)
        if state.current is None:
            return UpdateResult("nothing_to_roll_back", 1)
        old = current_version(data_dir) or "none"
        back = state.previous
        if back is not None and not (stage_path(data_dir, back) / "yt_dlp").is_dir():
            back = None
        write_state(data_dir, StageState(current=back, previous=None))
        new = current_version(data_dir) or "none"
        _prune(data_dir)
        return UpdateResult(f"rolled_back from={old} to={new}", 0)


def self_test(stage: Path, version: str) -> str | None:
    """Run selftest.py on `stage`; None when every check passed, else `<check> <detail>`."""
    code_dir = Path(bot.__file__).resolve().parent.parent
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot.upgrade.selftest", str(stage), version],
            capture_output=True,
            text=True,
            timeout=SELFTEST_TIMEOUT_S,
            cwd=code_dir,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timeout after {SELFTEST_TIMEOUT_S:.0f} s"
    for line in done.stdout.splitlines():
        log.info("ytdlp_self_test %s", line)
        if line.startswith("fail "):
            return line.removeprefix("fail ")
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-1:])[:300]
        return f"selftest exited {done.returncode}: {tail}"
    return None


def _drop_what_the_venv_has(stage: Path, data_dir: Path) -> None:
    """Remove from the stage every distribution the venv has in the same version (deno alone
    is 96 MB): the daemon imports those from the venv, as the self-test then does too."""
    installed = {
        _name(d): d.version for d in _venv_distributions(data_dir) if _name(d) not in KEPT
    }
    for dist in importlib.metadata.distributions(path=[str(stage)]):
        name = _name(dist)
        if installed.get(name) != dist.version:
            continue
        for entry in dist.files or ():
            # pip --target writes scripts as ../../bin/NAME in RECORD
            relative = Path(*[part for part in Path(str(entry)).parts if part != ".."])
            with contextlib.suppress(OSError):
                (stage / relative).unlink()
        info = Path(str(dist._path))  # type: ignore[attr-defined]  # its .dist-info folder
        shutil.rmtree(info, ignore_errors=True)
    for folder in sorted(stage.rglob("*"), reverse=True):  # packages left empty
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _venv_distributions(data_dir: Path) -> list[importlib.metadata.Distribution]:
    root = str(stage_root(data_dir).resolve())
    paths = [p for p in sys.path if not str(Path(p or ".").resolve()).startswith(root)]
    return list(importlib.metadata.distributions(path=paths))


def _name(dist: importlib.metadata.Distribution) -> str:
    return str(dist.metadata["Name"]).lower().replace("_", "-")


def _prune(data_dir: Path) -> None:
    """Keep the current and previous stages (and the state file); drop older ones."""
    state = read_state(data_dir)
    keep = {v for v in (state.current, state.previous) if v is not None}
    for entry in stage_root(data_dir).iterdir():
        if entry.is_dir() and entry.name not in keep and not entry.name.endswith(".partial"):
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    root = stage_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpdateBusyError("another update-ytdlp is running") from None
        yield


def run_cli(data_dir: Path, args: list[str]) -> int:
    """update-ytdlp [--rollback]: one line on stdout, exit 0 or 1."""
    try:
        result = rollback(data_dir) if args == ["--rollback"] else update(data_dir)
    except (pip.PipError, UpdateBusyError, OSError) as exc:
        result = UpdateResult(f"update_failed error={exc}", 1)
    print(result.line)  # noqa: T201 - the command's answer
    return result.code
