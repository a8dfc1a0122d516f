"""Groups and forum topics, against Telegram's flood limits (20 messages a minute per group):
/dl in a topic delivers there as a reply; /dl as a reply to a message with a link answers that
message; nothing is fetched before someone asks; a banned member's /dl gets nothing; a group's
admin may stop a member's download, another member may not; a group an admin of the bot adds it
to is served, one anybody else adds it to is not; /autodl for the group's admins.

One daemon for all of it: each flow has a group (or topic) of its own."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer
from tests.fakes.records import UPLOAD_METHODS, Call

pytestmark = pytest.mark.flood  # and the fixture fails the test on any call into a retry_after

ADMIN, MEMBER, OTHER, GROUP_ADMIN, BANNED = 9101, 6101, 6102, 6103, 6104
FORUM = -1003001  # ALLOWED_CHATS, with topics
GROUP = -1003002  # ALLOWED_CHATS
ADDED_BY_ADMIN, ADDED_BY_MEMBER = -1003003, -1003004
SIZE = 20_000


def reply_to(call: Call) -> object:
    reply = call.params.get("reply_parameters")
    return reply.get("message_id") if isinstance(reply, dict) else None


async def done(daemon: Daemon, update_id: int) -> None:
    await daemon.wait_log(f"update_done update={update_id}", timeout=30)


async def test_groups_and_topics(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    bot_api.forum(FORUM)
    topic = bot_api.topic(FORUM)
    daemon = await start_daemon(
        ADMIN_IDS=str(ADMIN), ALLOWED_CHATS=f"{FORUM},{GROUP}", LOG_LEVEL="DEBUG"
    )

    # /dl in a forum topic: the file goes into that topic, as a reply to /dl.
    asked = bot_api.push_message(
        MEMBER, f"/dl {media.url(f'/file/topic.bin?size={SIZE}')}", chat_id=FORUM, thread_id=topic
    )
    call = await bot_api.wait_for_file(FORUM)
    assert call.params.get("message_thread_id") == topic
    assert reply_to(call) == bot_api.message_id_of(asked)
    [file] = bot_api.chat(FORUM)  # quick: no status message was needed
    assert (file.thread_id, file.reply_to) == (topic, bot_api.message_id_of(asked))

    # A link posted without /dl is not fetched (the bot reads it only in this fake: privacy
    # mode keeps it from the bot); /dl as a reply to it fetches it, answering that message.
    link = media.url(f"/file/replied.bin?size={SIZE}")
    posted = bot_api.push_message(OTHER, f"look: {link}", chat_id=GROUP)
    await done(daemon, posted)
    assert not [r for r in media.requests if "replied.bin" in r[1]]
    bot_api.push_message(
        MEMBER, "/dl@tgfetch_bot", chat_id=GROUP, reply_to=bot_api.message_id_of(posted)
    )
    call = await bot_api.wait_for_file(GROUP)
    assert reply_to(call) == bot_api.message_id_of(posted)
    assert "message_thread_id" not in call.params
    await daemon.wait_log(f"links user={MEMBER} found=1")  # the member who asked carries it

    # A banned member's /dl gets nothing at all.
    bot_api.push_message(ADMIN, f"/ban {BANNED}")
    await bot_api.wait_for_text(ADMIN, "is banned")
    mark = bot_api.mark()
    banned = bot_api.push_message(
        BANNED, f"/dl {media.url(f'/file/banned.bin?size={SIZE}')}", chat_id=GROUP
    )
    await done(daemon, banned)
    assert not [c for c in bot_api.calls[mark:] if c.chat_id == GROUP]
    assert not [r for r in media.requests if "banned.bin" in r[1]]

    # A long download's Cancel: not for another member, yes for a group's admin.
    slow = media.url("/file/slow.bin?size=3000000&rate=100000")
    bot_api.push_message(MEMBER, f"/dl {slow}", chat_id=GROUP)
    status = await bot_api.wait_for_text(GROUP, "Working on your link", timeout=30)
    [data] = [
        b["callback_data"] for b in status.buttons if b["callback_data"].startswith("cancel:")
    ]
    mark = bot_api.mark()
    bot_api.push_callback(OTHER, status.message_id, data, chat_id=GROUP)
    refused = await bot_api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert "group's admins" in str(refused.params.get("text"))
    bot_api.set_member(GROUP, GROUP_ADMIN, "administrator")
    bot_api.push_callback(GROUP_ADMIN, status.message_id, data, chat_id=GROUP)
    await bot_api.wait_for_text(GROUP, "Cancelled", timeout=15)
    assert [c.params.get("user_id") for c in bot_api.calls_of("getChatMember", GROUP)] == [
        OTHER,
        GROUP_ADMIN,
    ]

    # Added by an admin of the bot: it works there. Added by anybody else: it does not.
    bot_api.push_joined(ADDED_BY_ADMIN, ADMIN)
    await bot_api.wait_for_text(ADDED_BY_ADMIN, "Send /dl and a link")
    bot_api.push_message(
        MEMBER, f"/dl {media.url(f'/file/added.bin?size={SIZE}')}", chat_id=ADDED_BY_ADMIN
    )
    await bot_api.wait_for_file(ADDED_BY_ADMIN)
    bot_api.push_joined(ADDED_BY_MEMBER, MEMBER)
    await bot_api.wait_for_text(ADDED_BY_MEMBER, "not switched on in this group")
    bot_api.push_message(
        MEMBER, f"/dl@tgfetch_bot {media.url('/file/no.bin?size=10')}", chat_id=ADDED_BY_MEMBER
    )
    await daemon.wait_log("group_update_refused")
    assert not [r for r in media.requests if "no.bin" in r[1]]

    # /autodl: a member may not switch it on, the group's admin may; then links posted there
    # are fetched without /dl (and other messages still get no answer).
    bot_api.push_message(MEMBER, "/autodl on", chat_id=ADDED_BY_ADMIN)
    await bot_api.wait_for_text(ADDED_BY_ADMIN, "Only this group's admins")
    bot_api.set_member(ADDED_BY_ADMIN, GROUP_ADMIN, "creator")
    bot_api.push_message(GROUP_ADMIN, "/autodl on", chat_id=ADDED_BY_ADMIN)
    await bot_api.wait_for_text(ADDED_BY_ADMIN, "every link posted in this group")
    chatter = bot_api.push_message(OTHER, "no link here", chat_id=ADDED_BY_ADMIN)
    await done(daemon, chatter)
    mark = bot_api.mark()
    bot_api.push_message(OTHER, media.url(f"/file/auto.bin?size={SIZE}"), chat_id=ADDED_BY_ADMIN)
    call = await bot_api.wait_for_file(ADDED_BY_ADMIN, after=mark)
    assert call.files["document"].filename == "auto.bin"
    assert "Traceback" not in daemon.output
    sent = [c for c in bot_api.calls if c.method in UPLOAD_METHODS and c.ok]
    assert len(sent) == 4  # topic, replied, added, auto: each once
