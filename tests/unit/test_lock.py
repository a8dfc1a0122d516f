"""The instance lock: a second daemon on the same data directory refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.settings import StartupError
from bot.ops.lock import AlreadyRunningError, InstanceLock

ROOT = Path(__file__).resolve().parents[2]

TRY_LOCK = """
import sys
from pathlib import Path
from bot.ops.lock import AlreadyRunningError, InstanceLock
try:
    InstanceLock(Path(sys.argv[1])).acquire()
except AlreadyRunningError as exc:
    print(exc)
    sys.exit(3)
print("locked")
"""

HOLD_LOCK = """
import sys
from pathlib import Path
from bot.ops.lock import InstanceLock
lock = InstanceLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def python(code: str, data_dir: Path, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
        stdin=stdin,
        stdout=subprocess.PIPE,
    )


def test_acquire_writes_our_pid(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with InstanceLock(data) as lock:
        assert lock.held
        assert (data / "tgfetch.lock").read_text() == f"{os.getpid()}\n"
    assert not lock.held


def test_another_process_is_refused_with_a_one_line_message(tmp_path: Path) -> None:
    with InstanceLock(tmp_path):
        child = python(TRY_LOCK, tmp_path)
        out, _ = child.communicate(timeout=30)
    assert child.returncode == 3
    assert out == f"another tgfetch is already running on {tmp_path}/ (pid {os.getpid()})\n"


def test_we_are_refused_while_another_process_holds_it(tmp_path: Path) -> None:
    child = python(HOLD_LOCK, tmp_path, subprocess.PIPE)
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline() == "locked\n"
        with pytest.raises(AlreadyRunningError) as caught:
            InstanceLock(tmp_path).acquire()
        assert str(caught.value) == (
            f"another tgfetch is already running on {tmp_path}/ (pid {child.pid})"
        )
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    # The kernel dropped the lock with the process: no stale-lock cleanup is ever needed.
    with InstanceLock(tmp_path) as lock:
        assert lock.held


def test_a_second_lock_in_the_same_process_is_refused(tmp_path: Path) -> None:
    # flock belongs to the open file description, so a second open() conflicts even here.
    first = InstanceLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(AlreadyRunningError, match=rf"pid {os.getpid()}\)$"):
            InstanceLock(tmp_path).acquire()
    finally:
        first.release()
    second = InstanceLock(tmp_path)
    second.acquire()
    second.release()
    second.release()  # releasing twice is harmless


def test_acquiring_twice_is_a_programming_error(tmp_path: Path) -> None:
    with InstanceLock(tmp_path) as lock, pytest.raises(RuntimeError):
        lock.acquire()


def test_a_data_dir_that_cannot_hold_the_lock_is_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file")
    with pytest.raises(StartupError) as caught:
        InstanceLock(not_a_folder).acquire()
    assert str(caught.value).startswith(f"DATA_DIR {not_a_folder} cannot be used: ")
    assert "\n" not in str(caught.value)
