"""One daemon per data directory: an exclusive flock held for the process's life."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from types import TracebackType

from bot.config.settings import StartupError

log = logging.getLogger(__name__)

LOCK_NAME = "tgfetch.lock"


class AlreadyRunningError(Exception):
    """Another process holds the lock; the message is one line naming the data dir and pid."""


class InstanceLock:
    """Refuses to start a second daemon on the same data directory (and the same token)."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._path = data_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunningError; the file then holds our pid.

        Raises StartupError when DATA_DIR cannot hold it (read-only, not a directory, ...).
        """
        if self._fd is not None:
            raise RuntimeError(f"{self._path} is already held by this InstanceLock")
        try:
            self._data_dir.mkdir(parents=True, exist_ok=True)
            # The lock lives on the open file description, so the file is never deleted:
            # unlinking it would let a third process lock a fresh inode while we hold the old.
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StartupError(
                f"DATA_DIR {self._data_dir} cannot be used: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunningError(
                f"another tgfetch is already running on {self._data_dir}/ (pid {other})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        log.info("instance_locked path=%s pid=%d", self._path, os.getpid())

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"
