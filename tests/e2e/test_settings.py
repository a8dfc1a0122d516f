"""/settings, kept in SQLite: a user whose default is audio gets a video page's audio without a
question, and the progress message of a slower one offers the other formats (the best video
instead, the audio's message gone without a word); one who takes videos as files gets the video
as a document; /language opens the same place."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

from tests.e2e.conftest import StartDaemon
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_files import make_video
from tests.fakes.media_server import MediaServer
from tests.fakes.records import ChatMessage

AUDIO_USER, FILE_USER = 7301, 7302
QUESTION = "What would you like"


async def choose(bot_api: FakeBotApi, user: int, menu: ChatMessage, data: str) -> ChatMessage:
    """Press a settings button; the menu as it reads after (ticked: the new value)."""
    bot_api.push_callback(user, menu.message_id, data)
    await bot_api.wait_for(
        lambda _c: any(
            "✓" in b["text"] and b["callback_data"] == data
            for m in bot_api.chat(user)
            if m.message_id == menu.message_id
            for b in m.buttons
        )
    )
    return next(m for m in bot_api.chat(user) if m.message_id == menu.message_id)


async def test_settings_change_what_a_link_brings(
    bot_api: FakeBotApi, media: MediaServer, media_dir: Path, start_daemon: StartDaemon
) -> None:
    await asyncio.to_thread(make_video, media_dir / "clip.mp4", 2)
    # A question would wait a minute for an answer: the defaults must not ask it.
    await start_daemon(CHOICE_TIMEOUT_SECONDS="60")
    link = media.url(f"/page/watch?og={quote(media.url('/static/clip.mp4'), safe='')}&title=Clip")

    bot_api.push_message(AUDIO_USER, "/settings")
    menu = await bot_api.wait_for_text(AUDIO_USER, "Video pages: ask each time")
    menu = await choose(bot_api, AUDIO_USER, menu, "set:fmt:audio")
    assert "Video pages: audio only" in menu.content
    bot_api.push_message(AUDIO_USER, link)
    call = await bot_api.wait_for_file(AUDIO_USER, timeout=60)
    assert call.method == "sendAudio"
    assert not [m for m in bot_api.chat(AUDIO_USER) if QUESTION in m.content]

    # A slower link: its progress message offers the other formats; the best video instead.
    size = (media_dir / "clip.mp4").stat().st_size
    slow = quote(media.url(f"/static/clip.mp4?rate={size // 3}"), safe="")
    bot_api.push_message(AUDIO_USER, media.url(f"/page/watch?og={slow}&title=Slow"))
    await bot_api.wait_for(
        lambda _c: any(
            b["callback_data"].startswith("redo:")
            for m in bot_api.chat(AUDIO_USER)
            for b in m.buttons
        ),
        timeout=30,
    )
    [offer] = [
        m
        for m in bot_api.chat(AUDIO_USER)
        if any(b["callback_data"].startswith("redo:") for b in m.buttons)
    ]
    labels = {b["text"]: b["callback_data"] for b in offer.buttons}
    assert set(labels) == {"🎬 Best video", "📱 Smaller video", "✖️ Cancel"}
    mark = bot_api.mark()
    bot_api.push_callback(AUDIO_USER, offer.message_id, labels["🎬 Best video"])
    call = await bot_api.wait_for_file(AUDIO_USER, timeout=60, after=mark)
    assert call.method == "sendVideo"
    assert [c.method for c in bot_api.calls[mark:] if c.method in ("sendAudio", "sendVideo")] == [
        "sendVideo"
    ]
    # The audio's progress message went without a word: the video's answered.
    await bot_api.wait_for(
        lambda c: c.method == "deleteMessage" and c.params["message_id"] == offer.message_id
    )
    assert not [m for m in bot_api.chat(AUDIO_USER) if "Cancelled" in m.content]

    # Videos as files (and the best video by default): the same page's video, as a document.
    bot_api.push_message(FILE_USER, "/language")
    view = await bot_api.wait_for_text(FILE_USER, "Choose a language")
    bot_api.push_callback(FILE_USER, view.message_id, "set:show")  # ⚙️ Settings: the same place
    menu = await bot_api.wait_for_text(FILE_USER, "Your settings")
    assert menu.message_id == view.message_id
    menu = await choose(bot_api, FILE_USER, menu, "set:vid:file")
    menu = await choose(bot_api, FILE_USER, menu, "set:fmt:best")
    assert "Videos arrive: as files" in menu.content
    bot_api.push_message(FILE_USER, link)
    call = await bot_api.wait_for_file(FILE_USER, timeout=60)
    assert call.method == "sendDocument"
    assert str(call.files["document"].filename).endswith(".mp4")
    assert not [m for m in bot_api.chat(FILE_USER) if QUESTION in m.content]
