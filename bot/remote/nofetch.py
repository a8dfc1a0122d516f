"""The front's fetch stage: the front fetches nothing, every job goes to a worker."""

from __future__ import annotations

from pathlib import Path

from bot.download.cancel import CancelToken
from bot.download.types import TransferFn, Watch
from bot.download.ytdlp import PageInfo
from bot.jobs.fetch import Choose, Fetched, FetchElsewhereError


class NoFetch:
    """The front's fetch stage: the front fetches nothing, the job goes to a worker."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size

    async def fetch(
        self,
        url: str,
        folder: Path,
        progress: TransferFn,
        cancel: CancelToken,
        cap: int,
        choose: Choose,
        *,
        file_cap: int | None = None,
        watch: Watch | None = None,
    ) -> Fetched | None:
        raise FetchElsewhereError

    async def items(self, url: str, cancel: CancelToken, limit: int) -> list[PageInfo]:
        raise FetchElsewhereError

    async def item(
        self, page: PageInfo, folder: Path, progress: TransferFn, cancel: CancelToken, cap: int
    ) -> Fetched:
        raise FetchElsewhereError
