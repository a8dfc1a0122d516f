"""Texts a user can act on: the limit in force, links inside any message, one answer for
several links, failures in the user's language, counted texts in the right form."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

USER = 1501
MB = 1024 * 1024
LATIN = re.compile("[A-Za-z]")
URL = re.compile(r"[a-z]+://\S*")
BIDI_CONTROLS = re.compile("[\u200e\u200f\u2066-\u2069]")


def raw_message(message_id: int, **fields: Any) -> dict[str, Any]:
    """A user's message as Telegram sends it, with whatever `fields` (entities, caption...)."""
    user = {"id": USER, "is_bot": False, "first_name": "U", "language_code": "en"}
    chat = {"id": USER, "type": "private", "first_name": "U"}
    return {
        "message": {
            "message_id": message_id,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            **fields,
        }
    }


async def test_without_mtproto_the_limit_is_50_mb_everywhere(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()  # no API_ID/API_HASH, the public Bot API
    await daemon.wait_log("large_files_off limit_mb=50 max_file_size_mb=2000")
    bot_api.push_message(USER, "/start", first_name="Ada")
    welcome = await bot_api.wait_for_text(USER, "Hi Ada")
    assert "This bot sends files up to 50 MB." in welcome.content
    bot_api.push_message(USER, "/help")
    help_msg = await bot_api.wait_for_text(USER, "How to use me")
    assert "This bot sends files up to 50 MB." in help_msg.content
    # SPLIT_FILES=video by default: longer video goes in parts (issue 16), and /help says so.
    assert "Longer video and audio come in parts" in help_msg.content

    # 60 MB, served slowly: refused by its Content-Length, before a byte of it is read.
    bot_api.push_message(USER, media.url(f"/file/big.bin?size={60 * MB}&rate=1000000"))
    refusal = await bot_api.wait_for_text(USER, "❌")
    assert refusal.content == "❌ The file is too large (60 MB). This bot sends files up to 50 MB."
    await media.wait_streams(0)
    await daemon.wait_log("reason=too_large_for_telegram")
    assert "http_saved" not in daemon.output
    assert not any("Downloading" in m.content for m in bot_api.chat(USER))
    # What the operator could do is said to the operator, never to the user.
    assert "set API_ID and API_HASH" in daemon.output
    assert not any("API_" in m.content or "2 GB" in m.content for m in bot_api.chat(USER))


async def test_with_mtproto_help_says_2_gb(bot_api: FakeBotApi, start_daemon: StartDaemon) -> None:
    daemon = await start_daemon(
        API_ID="12345",
        API_HASH="0123456789abcdef0123456789abcdef",
        TEST_MTPROTO="file",
        MAX_FILE_SIZE_MB="1500",
    )
    await daemon.wait_log("file_limit limit_mb=1500 route=mtproto")
    bot_api.push_message(USER, "/help")
    help_msg = await bot_api.wait_for_text(USER, "How to use me")
    assert "This bot sends files up to 1.5 GB." in help_msg.content
    assert "large_files_off" not in daemon.output


async def test_links_inside_shared_forwarded_and_captioned_messages_are_fetched(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    # The way share buttons send a link: words around it.
    bot_api.push_message(USER, f"check this out {media.url('/file/shared.bin?size=1000')} 👍")
    await bot_api.wait_for(lambda _: len(bot_api.sent_files(USER)) == 1)
    # A forwarded post whose link hides behind words (a text_link entity).
    hidden = media.url("/file/hidden.bin?size=1001")
    forwarded = raw_message(
        901,
        text="Here is the video you asked for",
        entities=[{"type": "text_link", "offset": 9, "length": 5, "url": hidden}],
        forward_origin={"type": "hidden_user", "sender_user_name": "Bo", "date": 1},
    )
    bot_api.push_update(forwarded)
    await bot_api.wait_for(lambda _: len(bot_api.sent_files(USER)) == 2)
    # A photo whose caption carries the link.
    captioned = media.url("/file/captioned.bin?size=1002")
    bot_api.push_update(
        raw_message(
            902,
            photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}],
            caption=f"source: {captioned}",
            caption_entities=[{"type": "url", "offset": 8, "length": len(captioned)}],
        )
    )
    await bot_api.wait_for(lambda _: len(bot_api.sent_files(USER)) == 3)
    names = sorted(str(f.filename) for f in bot_api.sent_files(USER))
    assert names == ["captioned.bin", "hidden.bin", "shared.bin"]
    # Each link was its own download, answered by its own file: no extra message.
    assert not any("Your message has" in m.content for m in bot_api.chat(USER))


async def test_three_links_with_two_allowed_get_one_answer(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(MAX_JOBS_PER_USER="2")
    links = [media.url(f"/file/{name}.bin?size=1000") for name in ("a", "b", "c")]
    bot_api.push_message(USER, f"three for you: {links[0]} and {links[1]}, also {links[2]}.")
    answer = await bot_api.wait_for_text(USER, "Your message has 3 links.")
    host = links[2].split("://", 1)[1].split("/", 1)[0]
    assert answer.content.splitlines() == [
        "🔗 Your message has 3 links.",
        "✅ 2 are being fetched, each with a progress message of its own.",
        "1 was not taken:",
        "",
        "⏳ You already have 2 downloads going. Wait for one to finish or /cancel it.",
        f"• {host}/file/c.bin?…",
    ]
    await bot_api.wait_for(lambda _: len(bot_api.sent_files(USER)) == 2)
    await daemon.wait_lines("job_end id=", 2)
    assert sorted(str(f.filename) for f in bot_api.sent_files(USER)) == ["a.bin", "b.bin"]
    assert not any("/file/c.bin" in path for _, path in media.requests)
    assert sum("Your message has" in m.content for m in bot_api.chat(USER)) == 1


async def test_links_past_the_rate_limit_are_named_in_the_one_answer(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon(RATE_LIMIT_PER_MINUTE="2", MAX_JOBS_PER_USER="5")
    links = " ".join(media.url(f"/file/r{n}.bin?size=1000") for n in range(3))
    bot_api.push_message(USER, links)
    answer = await bot_api.wait_for_text(USER, "Your message has 3 links.")
    assert "✅ 2 are being fetched" in answer.content
    assert "🐢 Slow down: up to 2 links a minute. Try again in " in answer.content
    assert "/file/r2.bin" in answer.content
    await bot_api.wait_for(lambda _: len(bot_api.sent_files(USER)) == 2)


async def test_a_refused_connection_is_told_in_persian_words(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    bot_api.push_message(USER, "http://127.0.0.1:1/refused.bin", language_code="fa")
    failure = await bot_api.wait_for_text(USER, "❌")
    text = BIDI_CONTROLS.sub("", failure.content)
    assert "دسترسی به سایت ممکن نشد" in text
    assert not LATIN.search(URL.sub("", text)), text  # "connection refused" was shown here


async def test_counted_texts_for_one_and_five(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon(MAX_JOBS_PER_USER="5")
    slow = [media.url(f"/file/s{n}.bin?size=1000000&rate=20000") for n in range(5)]
    bot_api.push_message(USER, slow[0])
    await daemon.wait_log("job_submitted id=1 ")
    bot_api.push_message(USER, "/cancel")
    await bot_api.wait_for_text(USER, "✖️ Stopped 1 download.")
    await daemon.wait_log("job_end id=1 ")  # its place is free again

    bot_api.push_message(USER, "\n".join(slow))
    answer = await bot_api.wait_for_text(USER, "Your message has 5 links.")
    assert "✅ 5 are being fetched" in answer.content
    bot_api.push_message(USER, "/cancel")
    await bot_api.wait_for_text(USER, "✖️ Stopped 5 downloads.")

    bot_api.push_message(USER, "/history")
    history = await bot_api.wait_for_text(USER, "Your links")
    assert "Page 1 of 1, 6 links in all." in history.content
    bot_api.push_message(USER + 1, "/forget")
    await bot_api.wait_for_text(USER + 1, "Your history is already empty.")
    bot_api.push_message(USER + 1, media.url("/file/one.bin?size=1000"))
    await bot_api.wait_for(lambda _: len(bot_api.sent_files(USER + 1)) == 1)
    bot_api.push_message(USER + 1, "/history")
    await bot_api.wait_for_text(USER + 1, "Page 1 of 1, 1 link in all.")
    bot_api.push_message(USER + 1, "/forget")
    await bot_api.wait_for_text(USER + 1, "Erase the 1 link of your history?")
