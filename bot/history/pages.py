"""A user's link history, a page at a time, and erasing it on request."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.jobs import JobRepo
from bot.store.links import LinkRecord, LinkRepo

PER_PAGE = 10


@dataclass(frozen=True, slots=True)
class HistoryPage:
    user_id: int
    records: tuple[LinkRecord, ...]
    page: int  # 0-based, clamped to the pages there are
    pages: int  # at least 1, even for an empty history
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return self.page + 1 < self.pages


class History:
    def __init__(self, links: LinkRepo, jobs: JobRepo, per_page: int = PER_PAGE) -> None:
        self._links = links
        self._jobs = jobs
        self._per_page = per_page

    async def page(self, user_id: int, page: int = 0) -> HistoryPage:
        """One page, newest links first; a page past the end shows the last one."""
        total = await self._links.count(user_id)
        pages = max(1, -(-total // self._per_page))
        page = min(max(0, page), pages - 1)
        records = await self._links.history(
            user_id, limit=self._per_page, offset=page * self._per_page
        )
        return HistoryPage(user_id, tuple(records), page, pages, total)

    async def forget(self, user_id: int) -> int:
        """Erase the user's links and finished jobs; returns how many links were erased."""
        await self._jobs.forget_finished(user_id)
        return await self._links.forget(user_id)
