"""Start-up refuses an unusable DATA_DIR or database with one line and exit code 2."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import Daemon
from tests.e2e.mounts import tmpfs


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder`, existing and read-only for the daemon this test starts."""
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    # Root writes through permissions: a read-only mount is the read-only it respects.
    with tmpfs(folder, "ro,size=64k"):
        yield


async def refused(daemon: Daemon, *expected: str) -> None:
    """The daemon exited with code 2 and said why in one line, without a traceback."""
    assert await daemon.wait_exit(20) == 2
    lines = [line for line in daemon.lines if "startup_failed" in line]
    assert len(lines) == 1, daemon.output
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in daemon.output


async def test_a_read_only_data_dir(start_daemon: StartDaemon, data_dir: Path) -> None:
    with read_only(data_dir):
        daemon = await start_daemon(wait=False)
        await refused(daemon, f"DATA_DIR {data_dir}", "ead-only file system")


def make_file(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


async def test_a_data_dir_that_is_a_file(start_daemon: StartDaemon, data_dir: Path) -> None:
    make_file(data_dir, b"not a folder")
    daemon = await start_daemon(wait=False)
    await refused(daemon, f"DATA_DIR {data_dir}")


async def test_a_corrupt_database(start_daemon: StartDaemon, data_dir: Path) -> None:
    garbage = b"these are not the pages of a SQLite database " * 100
    database = make_file(data_dir / "tgfetch.sqlite3", garbage)
    daemon = await start_daemon(wait=False)
    await refused(daemon, f"database {database}", "file is not a database")


async def test_a_database_that_cannot_be_opened(start_daemon: StartDaemon, data_dir: Path) -> None:
    make_file(data_dir / "tgfetch.sqlite3" / "a folder, not a database", b"")
    daemon = await start_daemon(wait=False)
    await refused(daemon, f"database {data_dir / 'tgfetch.sqlite3'}", "unable to open")
