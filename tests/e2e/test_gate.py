"""What reaches the handlers: no edits, access for every button and command (/language
included), buttons with data nobody sent get a polite answer, and with GROUPS=off private chats
only (groups: test_groups.py)."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer
from tests.fakes.records import ChatMessage

ADMIN, USER, STRANGER = 9101, 1101, 2202
GROUP = -1001234
REFUSED = "not available to you"
GONE = "This button is no longer active."


def answers(bot_api: FakeBotApi) -> dict[str, str]:
    """callback_query_id -> the text it was answered with."""
    calls = bot_api.calls_of("answerCallbackQuery")
    return {str(c.params["callback_query_id"]): str(c.params.get("text")) for c in calls}


def query_update(
    user: int, data: str | None, message: ChatMessage | None = None
) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": f"q-{user}-{data}",
        "from": {"id": user, "is_bot": False, "first_name": "U", "language_code": "en"},
        "chat_instance": "c",
    }
    if data is not None:
        query["data"] = data
    else:
        query["game_short_name"] = "a_game"
    if message is not None:
        query["message"] = {
            "message_id": message.message_id,
            "date": 1,
            "chat": {"id": user, "type": "private", "first_name": "U"},
            "text": message.content,
        }
    return {"callback_query": query}


async def test_language_and_its_buttons_obey_bans(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(ADMIN_IDS=str(ADMIN))
    bot_api.push_message(USER, "/language")
    menu = await bot_api.wait_for_text(USER, "Choose a language")
    bot_api.push_message(ADMIN, f"/ban {USER}")
    await bot_api.wait_for_text(ADMIN, "is banned")

    bot_api.push_message(USER, "/language")
    await bot_api.wait_for_text(USER, REFUSED)
    mark = bot_api.mark()
    bot_api.push_callback(USER, menu.message_id, "lang:fa")
    call = await bot_api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert REFUSED in str(call.params.get("text"))
    await daemon.wait_log(f"access_denied user={USER} verdict=banned what=button")

    bot_api.push_message(ADMIN, f"/unban {USER}")
    await bot_api.wait_for_text(ADMIN, "no longer banned")
    bot_api.push_message(USER, "/help")  # still English: the banned press changed nothing
    await bot_api.wait_for_text(USER, "How to use")


async def test_language_obeys_allowed_users(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(ADMIN_IDS=str(ADMIN), ALLOWED_USERS=str(USER))
    bot_api.push_message(STRANGER, "/language")
    await bot_api.wait_for_text(STRANGER, REFUSED)
    await daemon.wait_log(f"access_denied user={STRANGER} verdict=not_allowed what=language")
    assert not [m for m in bot_api.chat(STRANGER) if m.buttons]


async def test_buttons_with_data_nobody_sent_get_a_polite_answer(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, "/start")
    hello = await bot_api.wait_for_text(USER, "Hi")
    odd = [
        "",
        "cancel:",
        "cancel:\u0661\u0662",  # Arabic-Indic digits: \\d matched them
        "cancel:" + "9" * 40,
        "fmt:1:huge",
        "hist:1:" + "9" * 30,  # past SQLite's integers: was a traceback
        "hist:" + "9" * 30 + ":0",
        "lang:zz",
        "lang:",
        "adm:",
        "forget:maybe",
        ":::",
        None,  # a game button: no data at all
    ]
    for data in odd:
        bot_api.push_update(query_update(USER, data, hello))
    ids = [f"q-{USER}-{data}" for data in odd]
    await bot_api.wait_for(lambda _: set(ids) <= set(answers(bot_api)), timeout=15)
    assert {answers(bot_api)[i] for i in ids} == {GONE}
    bot_api.push_message(USER, "/start")  # still answering
    await bot_api.wait_for(lambda _: sum("Hi" in m.content for m in bot_api.chat(USER)) == 2)
    assert "handler_error" not in daemon.output
    assert "Traceback" not in daemon.output


async def test_an_edited_link_starts_nothing(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    user = {"id": USER, "is_bot": False, "first_name": "U"}
    chat = {"id": USER, "type": "private", "first_name": "U"}
    link = media.url("/file/edited.bin?size=1000")
    bot_api.push_update(
        {
            "edited_message": {
                "message_id": 5,
                "date": 1,
                "edit_date": 2,
                "chat": chat,
                "from": user,
                "text": link,
            }
        }
    )
    await daemon.wait_log(f"edit_ignored user={USER}")
    bot_api.push_message(USER, "/start")
    await bot_api.wait_for_text(USER, "Hi")
    assert not [r for r in media.requests if "edited.bin" in r[1]]
    assert "job_submitted" not in daemon.output
    assert len(bot_api.chat(USER)) == 1  # only the answer to /start


async def test_with_groups_off_only_commands_for_the_bot_get_a_pointer_to_a_private_chat(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(LOG_LEVEL="DEBUG", GROUPS="off", ALLOWED_CHATS=str(GROUP))
    bot_api.push_message(USER, media.url("/file/group.bin?size=1000"), chat_id=GROUP)
    bot_api.push_message(USER, "/start@someone_elses_bot", chat_id=GROUP)
    bot_api.push_message(USER, "/start@tgfetch_bot", chat_id=GROUP)
    pointer = await bot_api.wait_for_text(GROUP, "I only work in private chats")
    assert "@tgfetch_bot" in pointer.content
    await daemon.wait_log("group_update_refused")
    await daemon.wait_lines("group_update_ignored", 2)  # the link, and /start@someone_else
    assert len(bot_api.chat(GROUP)) == 1
    assert not [r for r in media.requests if "group.bin" in r[1]]
    assert "job_submitted" not in daemon.output
