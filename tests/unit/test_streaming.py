"""Upload while downloading, the upload side: the multipart body is exactly what it announces,
the growing file is read as it is written, and the fake Bot API sees what a failure leaves."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import httpx
import pytest
from telegram import Bot

from bot.download.types import FetchedFile
from bot.jobs.progress import ProgressTracker
from bot.jobs.stream_through import StreamThrough
from bot.model.failures import UnconfirmedDeliveryError
from bot.model.media import MediaKind
from bot.telegram_io.lanes import Direct
from bot.telegram_io.request import RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.upload.growing import GrowingFile
from bot.upload.streaming import BodyStream, MultipartBody, StreamingUploader
from bot.upload.types import ProgressFn, StreamedDocument, Uploaded
from tests.fakes.bot_api import FakeBotApi, Loss

CHAT = 5151
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02)
LIMIT = 50 * 1024 * 1024


@pytest.fixture
async def bot(bot_api: FakeBotApi) -> AsyncIterator[Bot]:
    request = RetryingRequest(policy=FAST, read_timeout=2, media_write_timeout=5)
    async with Bot(bot_api.token, base_url=f"{bot_api.url}/bot", request=request) as ptb:
        yield ptb


def ignore(done: int, total: int) -> None:
    """A progress callback that keeps nothing."""


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def pieces(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.parametrize("filename", ["report.zip", 'say "hi"\\\n.bin', "گزارش ۱.pdf"])
async def test_the_body_is_byte_for_byte_what_httpx_would_send_and_as_long_as_announced(
    filename: str,
) -> None:
    fields = {"chat_id": "5", "caption": "<b>ünïcode</b>\nline", "parse_mode": "HTML"}
    data = os.urandom(70_000)
    body = MultipartBody.of(fields, "document", filename, len(data), boundary="b0undary")
    sent = await collect(BodyStream(body, pieces(data[:1000], data[1000:]), ignore).chunks())
    assert len(sent) == body.length
    reference = httpx.Request(
        "POST",
        "http://x/",
        data=fields,
        files={"document": (filename, data, "application/octet-stream")},
        headers={"Content-Type": body.content_type},
    )
    assert sent == reference.read()
    assert int(reference.headers["Content-Length"]) == body.length


async def test_a_file_that_ends_short_or_runs_long_breaks_the_body_before_its_end() -> None:
    body = MultipartBody.of({"chat_id": "5"}, "document", "a.bin", 10)
    short = BodyStream(body, pieces(b"x" * 9), ignore)
    with pytest.raises(OSError, match="ended at 9"):
        await collect(short.chunks())
    long = BodyStream(body, pieces(b"x" * 11), ignore)
    with pytest.raises(OSError, match="grew past"):
        await collect(long.chunks())
    assert not short.whole
    assert not long.whole


async def test_the_growing_file_is_read_as_written_and_its_last_byte_waits_for_the_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "part.bin"
    path.write_bytes(b"abcd")
    grown = GrowingFile(path, 6)
    grown.grew(4)
    reader = grown.chunks()
    assert await anext(reader) == b"abcd"
    with path.open("ab") as out:
        out.write(b"ef")
    grown.grew(6)
    assert await anext(reader) == b"e"  # everything but the last byte
    waiting = asyncio.ensure_future(anext(reader))
    await asyncio.sleep(0)
    assert not waiting.done()  # the last byte is held until the download is whole
    grown.complete()
    assert await waiting == b"f"
    with pytest.raises(StopAsyncIteration):
        await anext(reader)


async def test_a_document_streams_to_the_fake_while_its_file_is_still_written(
    bot: Bot, bot_api: FakeBotApi, tmp_path: Path
) -> None:
    data = os.urandom(900_000)
    path = tmp_path / "growing.bin"
    path.write_bytes(data[:300_000])
    grown = GrowingFile(path, len(data))
    grown.grew(300_000)
    uploader = StreamingUploader(bot, Direct(), limit=LIMIT)
    seen: list[tuple[int, int]] = []
    sending = asyncio.ensure_future(
        uploader.send(
            StreamedDocument(CHAT, "growing.bin", "a <i>caption</i>", len(data), reply_to=9),
            grown.chunks(),
            lambda done, total: seen.append((done, total)),
        )
    )
    await bot_api.wait_upload_begun("sendDocument")  # begun with two thirds still to write
    with path.open("ab") as out:
        out.write(data[300_000:])
    grown.grew(len(data))
    grown.complete()
    sent = await sending
    assert sent is not None
    [call] = bot_api.calls_of("sendDocument")
    assert call.files["document"].sha256 == hashlib.sha256(data).hexdigest()
    assert call.files["document"].filename == "growing.bin"
    assert call.params["caption"] == "a <i>caption</i>"
    assert call.params["reply_parameters"]["message_id"] == 9
    assert sent.file_id == bot_api.chat(CHAT)[0].file_id
    assert seen[-1] == (len(data), len(data))


async def test_a_refusal_answers_none_and_a_lost_answer_is_unconfirmed(
    bot: Bot, bot_api: FakeBotApi
) -> None:
    uploader = StreamingUploader(bot, Direct(), limit=LIMIT)
    document = StreamedDocument(CHAT, "x.bin", "x", 5)
    bot_api.fail_next("sendDocument", 400, description="Bad Request: wrong file")
    assert await uploader.send(document, pieces(b"12345"), ignore) is None
    bot_api.lose_next("sendDocument", how=Loss.DROP)
    with pytest.raises(UnconfirmedDeliveryError):
        await uploader.send(document, pieces(b"12345"), ignore)
    assert len(bot_api.sent_files(CHAT)) == 1  # the lost one was performed, and only once
    assert len(bot_api.calls_of("sendDocument")) == 2


async def test_a_body_cut_before_its_end_is_not_sent(bot: Bot, bot_api: FakeBotApi) -> None:
    async def breaks() -> AsyncIterator[bytes]:
        yield b"x" * 100_000
        await bot_api.wait_upload_begun("sendDocument")
        raise OSError("the download failed")

    uploader = StreamingUploader(bot, Direct(), limit=LIMIT)
    answer = await uploader.send(StreamedDocument(CHAT, "x.bin", "x", 200_000), breaks(), ignore)
    assert answer is None
    await bot_api.wait_for(lambda c: c.method == "sendDocument")
    assert bot_api.sent_files(CHAT) == []


class Sender:
    """A stream route that reads what it is given and says it was delivered."""

    limit = 10_000

    def __init__(self) -> None:
        self.documents: list[StreamedDocument] = []
        self.read = b""

    async def send(
        self, document: StreamedDocument, data: AsyncIterable[bytes], progress: ProgressFn
    ) -> Uploaded | None:
        self.documents.append(document)
        async for chunk in data:
            self.read += chunk
            progress(len(self.read), document.size)
        return Uploaded(1, "ID", MediaKind.DOCUMENT, "botapi")


def through(sender: Sender, tracker: ProgressTracker | None = None) -> StreamThrough:
    return StreamThrough(
        sender,
        tracker or ProgressTracker(),
        lambda path, size: StreamedDocument(CHAT, path.name, "caption", size),
    )


async def download(stream: StreamThrough, path: Path, data: bytes, step: int = 1000) -> None:
    """Writes `data` as a download would, telling the watch as it goes."""
    stream.begin(path, len(data))
    with path.open("wb") as out:
        for at in range(0, len(data), step):
            out.write(data[at : at + step])
            out.flush()
            stream.grew(min(at + step, len(data)))
            await asyncio.sleep(0)


async def test_a_plain_file_goes_up_as_it_comes_down(tmp_path: Path) -> None:
    sender, tracker = Sender(), ProgressTracker()
    stream = through(sender, tracker)
    data = os.urandom(5000)
    path = tmp_path / "notes.txt"
    await download(stream, path, data)
    assert stream.started
    assert len(sender.read) < len(data)  # the last byte waits for the download's end
    sent = await stream.delivered(FetchedFile(path, len(data), None))
    assert sent is not None and sent.file_id == "ID"
    assert sender.read == data
    assert sender.documents == [StreamedDocument(CHAT, "notes.txt", "caption", len(data))]
    snapshot = tracker.snapshot
    assert snapshot is not None and snapshot.phase == "upload"
    assert stream.handed_over


@pytest.mark.parametrize(
    ("name", "head", "size"),
    [
        ("clip.bin", b"\x1a\x45\xdf\xa3" + bytes(996), 1000),  # Matroska under any name
        ("clip.mp4", bytes(1000), 1000),  # a media name: probed once whole
        ("big.bin", bytes(20_000), 20_000),  # more than the route takes
    ],
)
async def test_media_and_files_too_large_for_the_route_wait_for_the_ordinary_path(
    tmp_path: Path, name: str, head: bytes, size: int
) -> None:
    sender = Sender()
    stream = through(sender)
    path = tmp_path / name
    await download(stream, path, head[:size])
    assert not stream.started
    assert await stream.delivered(FetchedFile(path, size, None)) is None
    assert sender.documents == []


async def test_a_download_that_fails_cuts_the_upload_off_before_its_last_byte(
    tmp_path: Path,
) -> None:
    sender = Sender()
    stream = through(sender)
    await download(stream, tmp_path / "cut.bin", bytes(3000))
    assert stream.started
    await stream.abort()  # what `watching` does when the fetch raises or is cancelled
    assert len(sender.read) < 3000
    assert not stream.handed_over
