"""The gate decides first and speaks second: with every reply failing (5xx, a timeout, a user
who blocked the bot, flood control), a refused update still reaches no handler.

Each fault gets one daemon; every refusal path is pushed at once and the test waits until the
daemon says each update is done (`update_done`, the moment no handler of it can still run)
before it looks for anything that acted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

ADMIN, BANNED, MEMBER, TARGET = 9101, 5555, 6666, 7777
GROUP = -1002024  # not one the bot works in
ALLOWED_GROUP = -1002025  # ALLOWED_CHATS
REPLIES = {"sendMessage", "answerCallbackQuery"}
ACCESS_DENIED = "not available to you"
UNKNOWN_COMMAND = "I don't know that command"
NO_LONGER_ACTIVE = "This button is no longer active."
NOT_HERE = "not switched on in this group"
IN_PRIVATE = "That works in a private chat"


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    arm: Callable[[FakeBotApi], None]


def _server_error(api: FakeBotApi) -> None:
    api.fail_ratio(1.0, (500,), methods=REPLIES)


def _timeout(api: FakeBotApi) -> None:
    for method in REPLIES:  # held past BOT_API_TIMEOUT_SECONDS below
        api.set_slow(method, 60)


def _blocked(api: FakeBotApi) -> None:
    api.fail_ratio(1.0, (403,), methods=REPLIES)


def _flood(api: FakeBotApi) -> None:
    # The bot honours a retry_after after the fault too (its outbound path pauses the chat, or
    # the whole bot, for it), so a short one keeps the test short; still past the 5 s a
    # refusal gets once it has been flooded twice.
    api.fail_ratio(1.0, (429,), methods=REPLIES, retry_after=3)


FAULTS = [
    Fault("5xx", _server_error),
    Fault("timeout", _timeout),
    Fault("forbidden", _blocked),
    Fault("retry_after", _flood),
]


async def _done(daemon: Daemon, update_ids: list[int]) -> None:
    for update_id in update_ids:
        await daemon.wait_log(f"update_done update={update_id}", timeout=30)


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
async def test_a_refused_update_reaches_no_handler_when_its_reply_fails(
    fault: Fault, bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(
        ADMIN_IDS=str(ADMIN),
        LOG_LEVEL="DEBUG",
        BOT_API_TIMEOUT_SECONDS="2",
        ALLOWED_CHATS=str(ALLOWED_GROUP),
    )
    # The command menus are set in the background at start-up; the admin's is the last one.
    await bot_api.wait_for(
        lambda c: (
            c.method == "setMyCommands" and (c.params.get("scope") or {}).get("chat_id") == ADMIN
        )
    )
    # Before the fault: each user has a message of the bot's to press buttons on; one is banned.
    bot_api.push_message(BANNED, "/start")
    banned_hello = await bot_api.wait_for_text(BANNED, "Hi")
    bot_api.push_message(MEMBER, "/start")
    member_hello = await bot_api.wait_for_text(MEMBER, "Hi")
    bot_api.push_message(ADMIN, f"/ban {BANNED}")
    await bot_api.wait_for_text(ADMIN, "is banned")

    fault.arm(bot_api)
    mark = bot_api.mark()
    link = media.url("/file/refused.bin?size=1000")
    pushed = [
        bot_api.push_message(BANNED, link),  # a banned user's link
        bot_api.push_callback(BANNED, banned_hello.message_id, "lang:fa"),  # and button
        bot_api.push_message(MEMBER, f"/ban {TARGET}"),  # admin commands from a non-admin
        bot_api.push_message(MEMBER, f"/unban {BANNED}"),
        bot_api.push_message(MEMBER, f"/check {ADMIN}"),
        bot_api.push_callback(MEMBER, member_hello.message_id, "adm:stats"),  # admin panel
        bot_api.push_callback(MEMBER, member_hello.message_id, f"hist:{ADMIN}:0"),  # not theirs
        bot_api.push_callback(MEMBER, member_hello.message_id, ""),  # empty button data
        bot_api.push_message(MEMBER, "/history@tgfetch_bot", chat_id=GROUP),  # in a group
        # In a group the bot works in: a banned member's /dl (refused without a word), a
        # command that belongs in a private chat, a link nobody asked for.
        bot_api.push_message(BANNED, f"/dl {link}", chat_id=ALLOWED_GROUP),
        bot_api.push_message(MEMBER, "/history@tgfetch_bot", chat_id=ALLOWED_GROUP),
        bot_api.push_message(MEMBER, link, chat_id=ALLOWED_GROUP),
    ]
    await _done(daemon, pushed)

    # Nothing ran: no download, no ban or unban, no history, panel or language shown.
    assert "job_submitted" not in daemon.output
    assert not [r for r in media.requests if "refused.bin" in r[1]]
    for acted in (f"user_banned user={TARGET}", "user_unbanned", "language_set", "handler_error"):
        assert acted not in daemon.output, acted
    after = [c for c in bot_api.calls[mark:] if c.method != "getUpdates"]
    assert {c.method for c in after} <= REPLIES
    # In the group the bot works in, only the pointer was tried: the banned /dl got nothing.
    in_group = {str(c.params.get("text")) for c in after if c.chat_id == ALLOWED_GROUP}
    assert all(IN_PRIVATE in text for text in in_group if text != "None"), in_group
    # A reply cut off by its 5 s deadline while on its way reaches the fake as a request the
    # client abandoned (499, maybe before its text was read): nothing was said by it.
    said = {str(c.params.get("text")) for c in after if c.status != 499}
    allowed = (ACCESS_DENIED, UNKNOWN_COMMAND, NO_LONGER_ACTIVE, NOT_HERE, IN_PRIVATE)
    assert all(any(a in text for a in allowed) for text in said), [c.summary() for c in after]

    # Once Telegram answers again, the banned user is still banned and the bot still serves.
    bot_api.clear_faults()
    bot_api.push_message(BANNED, "/start")
    await bot_api.wait_for_text(BANNED, ACCESS_DENIED)
    bot_api.push_message(MEMBER, "/help")
    await bot_api.wait_for_text(MEMBER, "How to use")
    assert daemon.alive
    assert "Traceback" not in daemon.output
