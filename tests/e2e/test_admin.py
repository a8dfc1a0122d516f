"""The admin side end to end: the panel, /check, /expiring, bans, the allowlist, the daily job."""

from __future__ import annotations

from pathlib import Path

from bot.store.links import LinkOutcome
from tests.e2e.conftest import StartDaemon
from tests.e2e.seed import DAY, OldLink, OldUser, now, seed
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

ADMIN, ADMIN2 = 9001, 9002
USER, STRANGER = 1001, 2002
ADA = OldUser(USER, "Ada", "ada")
UNKNOWN = "I don't know that command"
REFUSED = "not available to you"


async def test_the_admin_panel_is_for_admins_only(
    bot_api: FakeBotApi, start_daemon: StartDaemon, data_dir: Path
) -> None:
    links = [
        OldLink(USER, "https://a.example/1", DAY),
        OldLink(USER, "https://a.example/2", DAY, LinkOutcome.FAILED, "timeout"),
    ]
    await seed(data_dir, users=[ADA], links=links, last_run=now())
    await start_daemon(ADMIN_IDS=str(ADMIN), DOWNLOAD_PROXY_URL="http://user:hunter2@127.0.0.1:9")

    bot_api.push_message(ADMIN, "/admin")
    panel = await bot_api.wait_for_text(ADMIN, "Statistics")
    assert "Users: 2 (active: 2 in 24 h" in panel.content  # Ada (seeded just now) and the admin
    # What each figure counts: links received, and how they ended (both sent 24 h ago).
    assert "📥 Links received: 0 today, 2 in 7 days, 2 in total" in panel.content
    assert "✅ Delivered: 0 today, 1 in 7 days, 1 in total" in panel.content
    assert "❌ Failed: 0 today, 1 in 7 days, 1 in total" in panel.content
    assert "✖️ Cancelled: 0 today, 0 in 7 days, 0 in total" in panel.content
    assert "Queue now: 0 running, 0 waiting" in panel.content
    assert "• took too long: 1" in panel.content
    assert [b["callback_data"] for b in panel.buttons] == [
        "adm:stats",
        "adm:users",
        "adm:settings",
        "adm:cookies",
        "adm:ytdlp",
    ]

    bot_api.push_callback(ADMIN, panel.message_id, "adm:settings")
    settings = await bot_api.wait_for_text(ADMIN, "Settings in force")
    assert "LINK_RETENTION_DAYS = 30" in settings.content
    assert "DOWNLOAD_PROXY_URL = set" in settings.content
    assert "PROXY_URL = not set" in settings.content
    assert "hunter2" not in settings.content
    assert bot_api.token.split(":")[1] not in settings.content
    bot_api.push_callback(ADMIN, panel.message_id, "adm:users")
    users = await bot_api.wait_for_text(ADMIN, "Recent users")
    assert "Ada @ada · 1001" in users.content

    # Anyone else gets exactly what an unknown command gets, and the menu stays theirs.
    bot_api.push_message(USER, "/nonsense")
    unknown = await bot_api.wait_for_text(USER, UNKNOWN)
    bot_api.push_message(USER, "/admin")
    bot_api.push_message(USER, "/check 1001")
    bot_api.push_message(USER, "/ban 1001")
    await bot_api.wait_for(lambda _: len(bot_api.chat(USER)) == 4)
    assert {m.content for m in bot_api.chat(USER)} == {unknown.content}
    await bot_api.wait_for(
        lambda c: c.method == "setMyCommands" and c.params.get("scope", {}).get("type") == "chat"
    )
    menu = bot_api.commands(scope={"type": "chat", "chat_id": ADMIN})
    assert {"admin", "check", "expiring", "ban", "unban", "history"} <= {
        c["command"] for c in menu
    }


async def test_check_and_expiring(
    bot_api: FakeBotApi, start_daemon: StartDaemon, data_dir: Path
) -> None:
    links = [
        OldLink(USER, "https://soon.example/a", 29 * DAY + DAY / 2),
        OldLink(USER, "https://fresh.example/b", DAY / 24, LinkOutcome.FAILED, "timeout"),
    ]
    await seed(data_dir, users=[ADA], links=links, last_run=now())
    await start_daemon(ADMIN_IDS=str(ADMIN))

    bot_api.push_message(ADMIN, "/check 1001")
    history = await bot_api.wait_for_text(ADMIN, "Links of Ada")
    assert "fresh.example/b" in history.content
    assert "took too long" in history.content
    assert "soon.example/a" in history.content
    bot_api.push_message(ADMIN, "/check abc")
    bot_api.push_message(ADMIN, "/check")
    await bot_api.wait_for(
        lambda _: sum("Usage: /check USER_ID" in m.content for m in bot_api.chat(ADMIN)) == 2
    )

    bot_api.push_message(ADMIN, "/expiring")
    notice = await bot_api.wait_for_text(ADMIN, "Links to be purged within 24 hours")
    assert "Ada @ada · 1001" in notice.content
    assert "soon.example/a" in notice.content
    assert "fresh.example" not in notice.content


async def test_a_banned_user_is_refused_until_unbanned(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(ADMIN_IDS=str(ADMIN))
    bot_api.push_message(ADMIN, "/ban")
    await bot_api.wait_for_text(ADMIN, "Usage: /ban USER_ID")
    bot_api.push_message(ADMIN, f"/ban {ADMIN}")
    await bot_api.wait_for_text(ADMIN, "Admins cannot be banned")

    bot_api.push_message(USER, "/start", first_name="Ada")
    await bot_api.wait_for_text(USER, "Hi Ada")
    bot_api.push_message(ADMIN, f"/ban {USER}")
    await bot_api.wait_for_text(ADMIN, "Ada · 1001 is banned.")

    bot_api.push_message(USER, media.url("/file/a.bin?size=1000"))
    await bot_api.wait_for_text(USER, REFUSED)
    await daemon.wait_log(f"access_denied user={USER} verdict=banned what=message")
    bot_api.push_message(USER, "/history")
    await bot_api.wait_for(lambda _: sum(REFUSED in m.content for m in bot_api.chat(USER)) == 2)
    bot_api.push_message(USER, "/start")
    await bot_api.wait_for(lambda _: sum(REFUSED in m.content for m in bot_api.chat(USER)) == 3)
    # One rule, one text: the link, /history and /start are refused alike.
    assert len({m.content for m in bot_api.chat(USER) if REFUSED in m.content}) == 1
    assert not bot_api.calls_of("sendDocument", USER)

    bot_api.push_message(ADMIN, f"/unban {USER}")
    await bot_api.wait_for_text(ADMIN, "is no longer banned")
    bot_api.push_message(USER, media.url("/file/a.bin?size=1000"))
    await bot_api.wait_for_file(USER)


async def test_allowed_users_keeps_everyone_else_out(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(ADMIN_IDS=str(ADMIN), ALLOWED_USERS=str(USER))
    bot_api.push_message(STRANGER, media.url("/file/a.bin?size=1000"))
    await bot_api.wait_for_text(STRANGER, REFUSED)
    await daemon.wait_log(f"access_denied user={STRANGER} verdict=not_allowed what=message")
    bot_api.push_message(STRANGER, "/help")
    await bot_api.wait_for(
        lambda _: sum(REFUSED in m.content for m in bot_api.chat(STRANGER)) == 2
    )
    # The same text for the link and /help; it names the id the operator would add.
    [refusal] = {m.content for m in bot_api.chat(STRANGER)}
    assert f"your user id, {STRANGER}." in refusal
    bot_api.push_message(USER, media.url("/file/a.bin?size=1000"))
    await bot_api.wait_for_file(USER)
    bot_api.push_message(ADMIN, "/admin")  # admins need not be listed
    await bot_api.wait_for_text(ADMIN, "Statistics")
    assert not bot_api.calls_of("sendDocument", STRANGER)


async def test_a_missed_daily_run_is_caught_up_at_start_and_not_repeated(
    bot_api: FakeBotApi, start_daemon: StartDaemon, data_dir: Path
) -> None:
    links = [
        OldLink(USER, "https://soon.example/a", 30 * DAY - DAY / 3),  # purged in 8 hours
        OldLink(USER, "https://overdue.example/b", 31 * DAY),
        OldLink(USER, "https://fresh.example/c", DAY),
    ]
    await seed(data_dir, users=[ADA], links=links, last_run=now() - 2 * DAY)
    bot_api.blocked_chats.add(ADMIN)
    env = {"ADMIN_IDS": f"{ADMIN},{ADMIN2}", "DAILY_JOB_TIME": "03:30", "TZ": "Asia/Tehran"}
    daemon = await start_daemon(**env)

    notice = await bot_api.wait_for_text(ADMIN2, "Links to be purged within 24 hours")
    assert "Ada @ada · 1001" in notice.content
    assert "soon.example/a" in notice.content
    assert "overdue.example/b" in notice.content
    assert "fresh.example" not in notice.content
    await bot_api.wait_for_text(ADMIN2, "could not notify admin 9001: the admin blocked the bot")
    await daemon.wait_log("daily_job_done noticed=2 admins=1 purged_links=1")
    scheduled = await daemon.wait_log("daily_job_scheduled at=03:30 tz=Asia/Tehran")
    assert "T03:30:00+03:30" in scheduled
    bot_api.push_message(ADMIN2, f"/check {USER}")
    history = await bot_api.wait_for_text(ADMIN2, "Links of Ada")
    assert "overdue.example" not in history.content  # purged
    assert "soon.example/a" in history.content
    await daemon.stop()

    seen = len(bot_api.chat(ADMIN2))
    again = await start_daemon(**env)
    await again.wait_log("daily_job_not_due")
    assert len(bot_api.chat(ADMIN2)) == seen
