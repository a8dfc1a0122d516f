"""Inline mode: `@bot <link>` in any chat. A link in the cache is answered with its file_id; a new
one with a button whose deep link starts the download in the private chat, after which the same
query offers the file; a banned or unlisted user gets an empty answer."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

ADMIN, SENDER, ASKER, BANNED, STRANGER = 9101, 7201, 7202, 7203, 7204
SIZE = 20_000
# Telegram drops an inline answer after about 10 s (the issue asks for 5): `make bench` measures
# it (inline_cached_ms, inline_new_ms); a test only waits, generously, on a loaded machine.
ANSWER_WAIT_S = 30


async def answer(bot_api: FakeBotApi, user: int, query: str) -> dict[str, Any]:
    query_id = bot_api.push_inline_query(user, query)
    call = await bot_api.wait_for(
        lambda c: c.method == "answerInlineQuery" and c.params["inline_query_id"] == query_id,
        timeout=ANSWER_WAIT_S,
    )
    answered = bot_api.inline_answer(query_id)
    assert answered is not None, call.summary()
    return answered


async def test_inline_queries(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    allowed = ",".join(str(u) for u in (SENDER, ASKER, BANNED))
    await start_daemon(ADMIN_IDS=str(ADMIN), ALLOWED_USERS=allowed)

    # A link delivered once: its file_id, at once, with a title.
    cached = media.url(f"/file/cached.bin?size={SIZE}")
    bot_api.push_message(SENDER, cached)
    await bot_api.wait_for_file(SENDER)
    [sent] = bot_api.chat(SENDER)
    found = await answer(bot_api, ASKER, cached)
    [result] = found["results"]
    assert result["type"] == "document"
    assert result["document_file_id"] == sent.file_id
    assert "cached.bin" in result["title"]
    assert "button" not in found

    # A new link: a button that opens the private chat with a token for the link.
    new = media.url(f"/file/new.bin?size={SIZE}")
    found = await answer(bot_api, ASKER, f"  {new} ")
    assert found["results"] == []
    assert found["cache_time"] == 0
    token = found["button"]["start_parameter"]
    assert new not in token
    assert not [r for r in media.requests if "new.bin" in r[1]]  # nothing fetched yet
    # Its /start fetches it into the private chat; then the same query offers the file.
    bot_api.push_message(ASKER, f"/start {token}")
    await bot_api.wait_for_file(ASKER)
    [delivered] = [m for m in bot_api.chat(ASKER) if m.file is not None]
    found = await answer(bot_api, ASKER, new)
    assert [r["document_file_id"] for r in found["results"]] == [delivered.file_id]
    # The token is the asker's alone.
    bot_api.push_message(SENDER, f"/start {token}")
    await bot_api.wait_for_text(SENDER, "That link has expired")

    # Banned, or not in ALLOWED_USERS: an empty answer, and no button.
    bot_api.push_message(ADMIN, f"/ban {BANNED}")
    await bot_api.wait_for_text(ADMIN, "is banned")
    for user in (BANNED, STRANGER):
        found = await answer(bot_api, user, cached)
        assert found["results"] == []
        assert "button" not in found
