"""At most one copy, always an answer: sends whose answer was lost are never repeated, and a
job's outcome is recorded whatever happens to its last message."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import SENDS, Call, FakeBotApi, Loss
from tests.fakes.media_files import make_video
from tests.fakes.media_server import MediaServer
from tests.fakes.records import UPLOAD_METHODS

USER = 6001
UNCONFIRMED = "It should be in this chat"


def uploads_to(bot_api: FakeBotApi, chat_id: int) -> list[Call]:
    """Every upload call into the chat, in order: fresh or by file_id, done or refused."""
    return [c for c in bot_api.calls if c.method in UPLOAD_METHODS and c.chat_id == chat_id]


def performed(calls: list[Call]) -> list[str]:
    """The calls that put a file into the chat (their answer lost or not)."""
    return [c.summary() for c in calls if c.ok]


async def test_a_fifth_of_sends_losing_their_answer_delivers_each_file_once(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.lose_next("sendDocument", 2)  # so that uploads surely meet the fault
    bot_api.lose_answers(0.2, methods=SENDS, seed=12)
    users = [USER + n for n in range(8)]
    for n, user in enumerate(users):
        bot_api.push_message(user, "/start")
        bot_api.push_message(user, media.url(f"/file/f{n}.bin?size={50_000 + n}"))
    for job_id in range(1, len(users) + 1):
        await daemon.wait_log(f"job_end id={job_id} ", timeout=60)
    for n, user in enumerate(users):
        files = bot_api.sent_files(user)
        assert [f.sha256 for f in files] == [
            MediaServer.expected_sha256(f"f{n}.bin", 50_000 + n)
        ], bot_api.chat(user)
        uploads = uploads_to(bot_api, user)
        assert len(performed(uploads)) == 1, [c.summary() for c in uploads]  # never twice
        lost_at = next((i for i, c in enumerate(uploads) if c.answer_lost), None)
        if lost_at is not None:  # nothing at all was tried after a lost answer
            assert lost_at == len(uploads) - 1, [c.summary() for c in uploads]
        assert any("Hi" in m.content for m in bot_api.chat(user))  # /start was answered
    lost = [c for c in bot_api.calls if c.method == "sendDocument" and c.answer_lost]
    assert len(lost) >= 2
    for call in lost:  # the users whose upload went unconfirmed were told what to do
        assert isinstance(call.chat_id, int)
        await bot_api.wait_for_text(call.chat_id, UNCONFIRMED)
    assert "bot_api_answer_unknown method=sendDocument choice=not_retried" in daemon.output
    assert "Traceback" not in daemon.output


async def test_an_upload_answer_that_never_comes_is_waited_for_then_reported(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    # A 1 s answer timeout makes the upload's wait 3 s plus its size at 256 KB/s.
    daemon = await start_daemon(BOT_API_TIMEOUT_SECONDS="1")
    bot_api.lose_next("sendDocument", how=Loss.STALL)
    bot_api.push_message(USER, media.url("/file/slow-answer.bin?size=100000"))
    note = await bot_api.wait_for_text(USER, UNCONFIRMED, timeout=30)
    assert "send the link again" in note.content
    assert len(bot_api.sent_files(USER)) == 1
    [upload] = uploads_to(bot_api, USER)
    assert upload.answer_lost
    await daemon.wait_log("job_end id=1 outcome=unconfirmed")

    bot_api.push_message(USER, "/history")
    history = await bot_api.wait_for_text(USER, "Your links")
    assert "📨" in history.content
    assert "sent, not confirmed by Telegram" in history.content


async def test_a_failed_last_message_leaves_the_job_failed_and_a_restart_does_not_rerun_it(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    daemon = await start_daemon()
    # The failure's message (a new message: a job this quick shows no status message, else
    # an edit of it): make it hang, then stop.
    bot_api.set_slow("sendMessage", 120)
    bot_api.set_slow("editMessageText", 120)
    bot_api.push_message(USER, media.url("/file/gone.bin?size=10&status=404"))
    await daemon.wait_log("job_recorded id=1 state=failed link=failed")
    fetched = len(media.requests)
    daemon.signal()
    assert await daemon.wait_exit(15) == 0
    assert not any("the site answered with an error" in m.content for m in bot_api.chat(USER))

    bot_api.clear_faults()
    again = await start_daemon()
    await again.wait_log("jobs_resumed count=0")
    bot_api.push_message(USER, "/history")
    history = await bot_api.wait_for_text(USER, "Your links")
    lines = history.content.splitlines()
    entry = next(i for i, line in enumerate(lines) if "gone.bin" in line)
    assert lines[entry].startswith("❌")
    assert lines[entry + 1].strip() == "the site answered with an error"
    assert len(media.requests) == fetched  # the job did not run again
    assert "job_end id=1" not in again.output
    assert not any((data_dir / "jobs").glob("*/*"))


async def test_a_restart_while_an_upload_waits_for_its_answer_does_not_send_it_again(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.lose_next("sendDocument", how=Loss.STALL)  # performed; the answer held
    bot_api.push_message(USER, media.url("/file/held.bin?size=100000"))
    await bot_api.wait_for(lambda c: c.method == "sendDocument" and c.answer_lost, timeout=30)
    daemon.signal()
    assert await daemon.wait_exit(15) == 0
    await bot_api.wait_for_text(USER, UNCONFIRMED)  # told at once, not after the restart

    again = await start_daemon()
    await again.wait_log("jobs_resumed count=0")
    bot_api.push_message(USER, "/start")
    await bot_api.wait_for_text(USER, "Hi")
    [upload] = uploads_to(bot_api, USER)
    assert upload.answer_lost
    assert len(bot_api.sent_files(USER)) == 1


async def test_a_video_whose_answer_cannot_be_read_is_delivered_unconfirmed_not_failed(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, start_daemon: StartDaemon
) -> None:
    await asyncio.to_thread(make_video, media_dir / "clip.mp4", 1)
    daemon = await start_daemon()
    # Telegram takes the video; its answer has no width, which PTB cannot read.
    bot_api.answer_without("sendVideo", "video", "width")
    bot_api.push_message(USER, media.url("/static/clip.mp4"))
    note = await bot_api.wait_for_text(USER, UNCONFIRMED, timeout=30)
    assert "send the link again" in note.content
    await daemon.wait_log("job_end id=1 outcome=unconfirmed")
    assert "botapi_answer_unreadable" in daemon.output
    [upload] = uploads_to(bot_api, USER)  # taken once, never sent again
    assert upload.method == "sendVideo"
    assert len(bot_api.sent_files(USER)) == 1
    assert not any(m.content.startswith("❌") for m in bot_api.chat(USER))
