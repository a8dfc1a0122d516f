"""Upload while downloading: a plain file that is not media goes to Telegram as it arrives.

Each test holds the media server's body halfway (`hold`) until the fake Bot API has seen the
document's upload begin: a bot that uploaded only after its download would wait for ever, so
the order is proven by the fakes' own records, not by timing.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi, Loss
from tests.fakes.media_server import MediaServer

USER = 7301
SIZE, HOLD = 1_500_000, 600_000
UNCONFIRMED = "It should be in this chat"
BROKE_OFF = "broke off before the file was complete"


def held_url(media: MediaServer, name: str, *, cut: bool = False) -> str:
    return media.url(f"/file/{name}?size={SIZE}&hold={HOLD}" + ("&cut=1" if cut else ""))


def documents(bot_api: FakeBotApi) -> list[str]:
    """Every sendDocument call into the chat, as one line each."""
    return [c.summary() for c in bot_api.calls_of("sendDocument", USER)]


async def test_the_upload_begins_before_the_download_ends_and_arrives_intact(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, held_url(media, "along.bin"))
    await media.wait_holding("along.bin")
    await bot_api.wait_upload_begun("sendDocument", timeout=20)
    assert media.active_streams == 1  # the download is still running, held halfway
    media.release("along.bin")
    call = await bot_api.wait_for_file(USER)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("along.bin", SIZE)
    assert call.files["document"].filename == "along.bin"
    assert "along.bin" in (call.params.get("caption") or "")
    assert len(documents(bot_api)) == 1, documents(bot_api)
    await daemon.wait_log("job_end id=1 outcome=delivered")
    assert not any((data_dir / "jobs").glob("*/*"))

    # The file_id cache knows it: the same link again is answered without a download.
    served = len(media.requests)
    bot_api.push_message(USER, held_url(media, "along.bin"))
    await daemon.wait_log("cache_hit id=2")
    assert len(media.requests) == served


async def test_a_download_that_breaks_off_leaves_no_document_and_tells_the_user(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, held_url(media, "broken.bin", cut=True))
    await bot_api.wait_upload_begun("sendDocument", timeout=20)
    media.release("broken.bin")
    await bot_api.wait_for_text(USER, BROKE_OFF, timeout=20)
    await daemon.wait_log("job_end id=1 outcome=failed")
    await bot_api.wait_for(lambda c: c.method == "sendDocument")  # the cut upload, recorded
    assert bot_api.sent_files(USER) == []
    assert all(c.status == 499 for c in bot_api.calls_of("sendDocument")), documents(bot_api)
    assert "stream_through_aborted" in daemon.output
    assert not any((data_dir / "jobs").glob("*/*"))


async def test_a_refused_streamed_upload_is_sent_once_the_ordinary_way(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.fail_next("sendDocument", 500)
    bot_api.push_message(USER, held_url(media, "refused.bin"))
    await bot_api.wait_upload_begun("sendDocument", timeout=20)
    media.release("refused.bin")
    call = await bot_api.wait_for_file(USER)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("refused.bin", SIZE)
    [refused, sent] = bot_api.calls_of("sendDocument", USER)
    assert (refused.status, sent.status) == (500, 200)
    assert len(bot_api.sent_files(USER)) == 1
    assert "stream_upload_refused" in daemon.output
    await daemon.wait_log("job_end id=1 outcome=delivered")


async def test_a_lost_answer_after_the_whole_body_is_not_sent_again(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.lose_next("sendDocument", how=Loss.DROP)
    bot_api.push_message(USER, held_url(media, "lost.bin"))
    await bot_api.wait_upload_begun("sendDocument", timeout=20)
    media.release("lost.bin")
    await bot_api.wait_for_text(USER, UNCONFIRMED, timeout=20)
    await daemon.wait_log("job_end id=1 outcome=unconfirmed")
    [call] = bot_api.calls_of("sendDocument", USER)  # performed once, never repeated
    assert call.answer_lost
    assert call.files["document"].sha256 == MediaServer.expected_sha256("lost.bin", SIZE)


async def test_a_restart_mid_stream_stops_both_and_the_next_start_sends_the_file_once(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, held_url(media, "restart.bin"))
    await bot_api.wait_upload_begun("sendDocument", timeout=20)
    daemon.signal()
    assert await daemon.wait_exit(15) == 0
    await bot_api.wait_for(lambda c: c.method == "sendDocument" and c.status == 499)
    assert bot_api.sent_files(USER) == []  # the upload was cut off, not completed
    media.release("restart.bin")

    again = await start_daemon()
    call = await bot_api.wait_for_file(USER)
    assert call.files["document"].sha256 == MediaServer.expected_sha256("restart.bin", SIZE)
    assert len(bot_api.sent_files(USER)) == 1
    assert [c.status for c in bot_api.calls_of("sendDocument", USER)] == [499, 200]
    await again.wait_log("job_end id=1 outcome=delivered")
    assert not any((data_dir / "jobs").glob("*/*"))


async def test_cancel_mid_stream_stops_both_and_sends_nothing(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, held_url(media, "cancel.bin"))
    await bot_api.wait_upload_begun("sendDocument", timeout=20)
    bot_api.push_message(USER, "/cancel")
    await daemon.wait_log("job_end id=1 outcome=cancelled", timeout=20)
    await bot_api.wait_for(lambda c: c.method == "sendDocument" and c.status == 499)
    await media.wait_streams(0)  # the download let go too, though the server still held it
    assert bot_api.sent_files(USER) == []
    assert "stream_through_aborted" in daemon.output
    assert not any((data_dir / "jobs").glob("*/*"))
