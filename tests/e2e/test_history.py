"""/history and /forget end to end: what a user sees of their links, and erasing them."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import StartDaemon
from tests.e2e.seed import DAY, OldLink, now, seed
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

USER, OTHER = 1001, 2002


async def test_history_shows_outcomes_newest_first_in_pages(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon, data_dir: Path
) -> None:
    minute = DAY / 1440
    old = [OldLink(USER, f"https://old.example/{n}", 2 * DAY + n * minute) for n in range(11)]
    await seed(data_dir, links=old, last_run=now())
    daemon = await start_daemon()
    bot_api.push_message(USER, media.url("/file/report.pdf?size=2048&type=application/pdf"))
    await bot_api.wait_for_file(USER)
    bot_api.push_message(USER, media.url("/file/gone.bin?size=10&status=404"))
    await bot_api.wait_for_text(USER, "error 404")
    await daemon.wait_log("job_end id=2 ")

    bot_api.push_message(USER, "/history")
    first = await bot_api.wait_for_text(USER, "Your links")
    lines = first.content.splitlines()
    assert "Page 1 of 2, 13 links in all." in lines
    failed = next(i for i, line in enumerate(lines) if "gone.bin" in line)
    delivered = next(i for i, line in enumerate(lines) if "report.pdf" in line)
    assert failed < delivered  # newest first
    assert lines[failed].startswith("❌")
    assert lines[failed + 1].strip() == "the site answered with an error"
    assert lines[delivered].startswith("✅")
    assert "2 KB" in lines[delivered + 1]
    assert "old.example/7" in first.content
    assert "old.example/8" not in first.content
    assert [b["callback_data"] for b in first.buttons] == [f"hist:{USER}:1"]

    bot_api.push_callback(USER, first.message_id, f"hist:{USER}:1")
    second = await bot_api.wait_for_text(USER, "Page 2 of 2")
    assert second.message_id == first.message_id  # the same message, turned to the next page
    entries = [line for line in second.content.splitlines() if "old.example" in line]
    assert [line.split("old.example/")[1] for line in entries] == ["8", "9", "10"]
    assert all(line.startswith("✅") for line in entries)
    assert "gone.bin" not in second.content
    assert [b["callback_data"] for b in second.buttons] == [f"hist:{USER}:0"]

    # Someone else's history is not theirs to page through.
    bot_api.push_message(OTHER, "/start")
    hello = await bot_api.wait_for_text(OTHER, "Hi")
    bot_api.push_callback(OTHER, hello.message_id, f"hist:{USER}:0")
    await daemon.wait_log(f"unknown_callback user={OTHER}")
    assert not any("old.example" in m.content for m in bot_api.chat(OTHER))


async def test_forget_erases_only_after_confirmation(
    bot_api: FakeBotApi, start_daemon: StartDaemon, data_dir: Path
) -> None:
    links = [OldLink(USER, f"https://a.example/{n}", DAY) for n in range(3)]
    await seed(
        data_dir, links=[*links, OldLink(OTHER, "https://b.example/x", DAY)], last_run=now()
    )
    daemon = await start_daemon()

    bot_api.push_message(USER, "/forget")
    ask = await bot_api.wait_for_text(USER, "Erase all 3 links")
    assert [b["callback_data"] for b in ask.buttons] == ["forget:yes", "forget:no"]
    bot_api.push_callback(USER, ask.message_id, "forget:no")
    await bot_api.wait_for_text(USER, "Your history was kept.")
    bot_api.push_message(USER, "/history")
    await bot_api.wait_for_text(USER, "3 links in all")

    bot_api.push_message(USER, "/forget")
    again = await bot_api.wait_for_text(USER, "Erase all 3 links")
    bot_api.push_callback(USER, again.message_id, "forget:yes")
    await bot_api.wait_for_text(USER, "Erased 3 links")
    await daemon.wait_log(f"history_forgotten user={USER} links=3")
    bot_api.push_message(USER, "/history")
    await bot_api.wait_for_text(USER, "You have no links in your history.")
    bot_api.push_message(USER, "/forget")
    await bot_api.wait_for_text(USER, "Your history is already empty.")

    bot_api.push_message(OTHER, "/history")  # only the user's own history went
    other = await bot_api.wait_for_text(OTHER, "Your links")
    assert "b.example/x" in other.content
