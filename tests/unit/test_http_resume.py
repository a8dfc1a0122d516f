"""The plain-file fetcher continuing a download from its note, against the media server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.download.cancel import CancelToken
from bot.download.http import HttpFetcher
from bot.download.resume import NOTE, ResumePoint, load_note, write_note
from bot.model.failures import FailureReason, FetchError
from tests.fakes.media_server import MediaServer

SIZE = 300_000


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    async with MediaServer() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    class Open:
        async def check(self, url: str, *, resolve: bool = True) -> None:
            del url, resolve

        def check_peer(self, response: httpx.Response) -> None:
            del response

    async with httpx.AsyncClient() as client:
        yield HttpFetcher(client, Open(), 10 * SIZE, resume_min=100_000)


async def download(http: HttpFetcher, url: str, folder: Path) -> tuple[Path, list[int]]:
    seen: list[int] = []
    point = load_note(folder, url)
    async with http.open(url, point) as response:
        saved = await http.save(
            response,
            folder,
            lambda done, total: seen.append(done),
            CancelToken(),
            resume=point,
            url=url,
        )
    return saved.path, seen


async def test_a_large_file_leaves_a_note_while_it_downloads_and_none_after(
    http: HttpFetcher, media: MediaServer, tmp_path: Path
) -> None:
    url = media.url(f"/file/a.bin?size={SIZE}")
    noted: list[bool] = []
    async with http.open(url) as response:
        saved = await http.save(
            response,
            tmp_path,
            lambda done, total: noted.append((tmp_path / NOTE).exists()),
            CancelToken(),
            url=url,
        )
    assert saved.path.read_bytes() == MediaServer.expected_bytes("a.bin", SIZE)
    assert noted[0]
    assert not (tmp_path / NOTE).exists()


async def test_a_noted_part_is_continued_from_where_it_stopped(
    http: HttpFetcher, media: MediaServer, tmp_path: Path
) -> None:
    url = media.url(f"/file/a.bin?size={SIZE}")
    (tmp_path / "a.bin").write_bytes(MediaServer.expected_bytes("a.bin", 120_000))
    write_note(tmp_path, ResumePoint(url, "a.bin", '"a.bin-300000"', SIZE))
    path, seen = await download(http, url, tmp_path)
    assert path.read_bytes() == MediaServer.expected_bytes("a.bin", SIZE)
    assert media.ranges == [(f"/file/a.bin?size={SIZE}", "bytes=120000-", 206)]
    assert media.bytes_served("a.bin") == SIZE - 120_000
    assert seen[0] > 120_000  # the progress goes on from the part


async def test_a_range_that_is_not_the_rest_fails_and_forgets_the_note(
    http: HttpFetcher, media: MediaServer, tmp_path: Path
) -> None:
    url = media.url(f"/file/a.bin?size={SIZE}")
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    # The same version, by its ETag, but a note that says it is larger than it is.
    write_note(tmp_path, ResumePoint(url, "a.bin", '"a.bin-300000"', SIZE * 2))
    with pytest.raises(FetchError) as caught:
        await download(http, url, tmp_path)
    assert caught.value.reason is FailureReason.CONNECTION_LOST
    assert not (tmp_path / NOTE).exists()


async def test_a_small_file_is_never_noted(
    http: HttpFetcher, media: MediaServer, tmp_path: Path
) -> None:
    url = media.url("/file/small.bin?size=50000")
    point = load_note(tmp_path, url)
    async with http.open(url, point) as response:
        assert response.headers["etag"]
        await http.save(response, tmp_path, lambda done, total: None, CancelToken(), url=url)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.bin"]  # noqa: ASYNC240 - a test folder
