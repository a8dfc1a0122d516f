"""A site that refuses for now (issue 23): the job is parked, the user told once with a Cancel
button, it counts against their limits, survives a restart, and the file comes when it works."""

from __future__ import annotations

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

USER, ADMIN = 1001, 9001
# A window of 36 s: tries after 0.36 s, doubling, at most 4.5 s apart.
PARKING = {"PARK_RETRY_HOURS": "0.01", "MAX_JOBS_PER_USER": "1", "ADMIN_IDS": str(ADMIN)}


async def test_a_refused_link_waits_through_a_restart_and_arrives(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    media.refuse("clip.bin", 429)
    daemon = await start_daemon(**PARKING)
    bot_api.push_message(USER, media.url("/file/clip.bin?size=70000"))
    parked = await bot_api.wait_for_text(USER, "refusing the bot for now")
    assert "too many requests" in parked.content
    assert [b["callback_data"] for b in parked.buttons] == ["cancel:1"]
    bot_api.push_message(USER, media.url("/file/other.bin?size=10"))
    await bot_api.wait_for_text(USER, "You already have 1 download going")
    await daemon.wait_log("job_parked id=1 reason=rate_limited")
    # The admins hear of it once (however many tries), with what would help.
    alert = await bot_api.wait_for_text(ADMIN, "A site refused the bot")
    assert "too many requests (HTTP 429)" in alert.content
    assert "127.0.0.1" in alert.content
    await daemon.stop()

    media.refuse("clip.bin", None)
    daemon = await start_daemon(**PARKING)
    await daemon.wait_log("jobs_resumed count=0 parked=1")
    call = await bot_api.wait_for_file(USER)
    uploaded = next(iter(call.files.values()))
    assert uploaded.sha256 == MediaServer.expected_sha256("clip.bin", 70000)
    await daemon.wait_log("job_end id=1 outcome=delivered")
    texts = [m.content for m in bot_api.chat(USER)]
    assert not any("restart" in t for t in texts)  # told once, before the restart
    assert not any("refusing" in t for t in texts)  # the status message went with the file


async def test_a_parked_link_is_cancelled_with_its_button(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    media.refuse("busy.bin", 503)
    await start_daemon(**PARKING)
    bot_api.push_message(USER, media.url("/file/busy.bin?size=10"))
    parked = await bot_api.wait_for_text(USER, "refusing the bot for now")
    assert "the site answered with an error" in parked.content
    bot_api.push_callback(USER, parked.message_id, "cancel:1")
    await bot_api.wait_for_text(USER, "Cancelled")
    bot_api.push_message(USER, media.url("/file/next.bin?size=10"))  # the slot is free again
    await bot_api.wait_for_file(USER)
