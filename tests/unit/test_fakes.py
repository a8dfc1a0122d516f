"""Fast checks that the fakes behave like the services they stand in for."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import telegram
from telegram.error import BadRequest, RetryAfter

from tests.fakes.bot_api import FakeBotApi, Loss
from tests.fakes.media_files import make_audio, make_video
from tests.fakes.media_server import MediaServer

MIB = 1024 * 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
KEYBOARD = {"inline_keyboard": [[{"text": "Cancel", "callback_data": "cancel:1"}]]}


def method_url(api: FakeBotApi, method: str) -> str:
    return f"{api.url}/bot{api.token}/{method}"


async def call(api: FakeBotApi, method: str, **params: Any) -> httpx.Response:
    """Call a method the way python-telegram-bot does: form fields, JSON for structures."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with httpx.AsyncClient() as client:
        return await client.post(method_url(api, method), data=form)


async def test_get_updates_long_poll_answers_as_soon_as_an_update_is_pushed(
    bot_api: FakeBotApi,
) -> None:
    # A long poll of a minute answered within the test's bound: the push woke it.
    poll = asyncio.create_task(call(bot_api, "getUpdates", timeout=60))
    await bot_api.wait_until_polling(timeout=10)
    update_id = bot_api.push_message(42, "/start@tgfetch_bot hello", language_code="fa")

    response = await asyncio.wait_for(poll, 30)

    [update] = response.json()["result"]
    assert update["update_id"] == update_id
    message = update["message"]
    assert message["chat"] == {"id": 42, "type": "private", "first_name": "User"}
    assert message["from"]["language_code"] == "fa"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 18}]


async def test_get_updates_redelivers_until_an_offset_confirms(bot_api: FakeBotApi) -> None:
    first = bot_api.push_message(1, "https://example.com/a")
    second = bot_api.push_message(1, "two")

    both = (await call(bot_api, "getUpdates")).json()["result"]
    again = (await call(bot_api, "getUpdates", offset=second)).json()["result"]
    started = time.monotonic()
    none = (await call(bot_api, "getUpdates", offset=second + 1, timeout=0.2)).json()["result"]

    assert [u["update_id"] for u in both] == [first, second]
    assert both[0]["message"]["entities"][0]["type"] == "url"
    assert [u["update_id"] for u in again] == [second]
    assert none == []
    assert time.monotonic() - started >= 0.15
    assert bot_api.pending_updates == 0
    assert bot_api.get_updates_count == 3


async def test_a_second_long_poll_ends_the_first_with_409_and_stalls_hang(
    bot_api: FakeBotApi,
) -> None:
    first = asyncio.create_task(call(bot_api, "getUpdates", timeout=5))
    await bot_api.wait_until_polling(timeout=2)
    second = asyncio.create_task(call(bot_api, "getUpdates", timeout=0))

    assert (await first).json()["description"].startswith("Conflict: terminated by other")
    assert (await second).json() == {"ok": True, "result": []}

    bot_api.stall_get_updates(True)
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(method_url(bot_api, "getUpdates"), timeout=0.2)
    hung_up = await bot_api.wait_for(lambda c: c.status == 499, timeout=2)
    assert hung_up.method == "getUpdates"
    assert bot_api.get_updates_count == 3


async def test_an_upload_abandoned_midway_is_recorded_as_499(bot_api: FakeBotApi) -> None:
    boundary = "abandoned"

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n4\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
            'filename="a.bin"\r\n\r\n'
        ).encode() + bytes(MIB)
        raise ConnectionAbortedError

    async with httpx.AsyncClient() as client:
        with pytest.raises(ConnectionAbortedError):
            await client.post(
                method_url(bot_api, "sendDocument"),
                content=body(),
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
    abandoned = await bot_api.wait_for(lambda c: c.method == "sendDocument", timeout=2)
    assert (abandoned.status, abandoned.params) == (499, {"chat_id": 4})


async def test_send_edit_delete_follow_telegram(bot_api: FakeBotApi) -> None:
    sent = await call(
        bot_api,
        "sendMessage",
        chat_id=7,
        text="<b>Downloading</b> 10%",
        parse_mode="HTML",
        reply_markup=KEYBOARD,
    )
    message = sent.json()["result"]
    assert (message["message_id"], message["text"]) == (1, "Downloading 10%")
    assert message["from"]["id"] == bot_api.bot_id
    assert message["reply_markup"] == KEYBOARD
    assert isinstance(message["date"], int)

    edited = await call(bot_api, "editMessageText", chat_id=7, message_id=1, text="Done")
    same = await call(bot_api, "editMessageText", chat_id=7, message_id=1, text="Done")
    missing = await call(bot_api, "editMessageText", chat_id=7, message_id=99, text="x")

    assert edited.json()["result"]["text"] == "Done"
    assert "reply_markup" not in edited.json()["result"]
    assert (same.status_code, same.json()["description"]) == (400, NOT_MODIFIED)
    assert missing.json()["description"] == "Bad Request: message to edit not found"
    [current] = bot_api.chat(7)
    assert (current.text, current.reply_markup, current.edited) == ("Done", None, True)

    assert (await call(bot_api, "deleteMessage", chat_id=7, message_id=1)).json()["result"]
    gone = await call(bot_api, "deleteMessage", chat_id=7, message_id=1)
    assert gone.json()["description"] == "Bad Request: message to delete not found"
    assert bot_api.chat(7) == []


async def test_errors_have_telegram_shapes(bot_api: FakeBotApi) -> None:
    bot_api.blocked_chats.add(5)
    bot_api.missing_chats.add(6)
    async with httpx.AsyncClient() as client:
        wrong_token = await client.post(f"{bot_api.url}/bot1:nope/getMe")
        unknown = await client.post(method_url(bot_api, "sendSticker"))
        lower_case = await client.get(method_url(bot_api, "getme"))

    assert wrong_token.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert lower_case.json()["result"]["username"] == "tgfetch_bot"
    assert bot_api.calls[-1].method == "getMe"
    cases = {
        (5, "hi"): (403, "Forbidden: bot was blocked by the user"),
        (6, "hi"): (400, "Bad Request: chat not found"),
        (7, " "): (400, "Bad Request: message text is empty"),
        (7, "x" * 4097): (400, "Bad Request: message is too long"),
        (7, "<b>x"): (400, "Bad Request: can't parse entities: "),
    }
    for (chat_id, text), (status, description) in cases.items():
        response = await call(
            bot_api, "sendMessage", chat_id=chat_id, text=text, parse_mode="HTML"
        )
        assert response.status_code == status
        assert response.json()["description"].startswith(description)


async def test_fail_next_answers_429_with_retry_after_then_recovers(bot_api: FakeBotApi) -> None:
    bot_api.fail_next("sendMessage", 429, retry_after=3)
    bot_api.fail_next("getMe", 502)

    limited = await call(bot_api, "sendMessage", chat_id=1, text="a")
    recovered = await call(bot_api, "sendMessage", chat_id=1, text="a")
    proxy = await call(bot_api, "getMe")

    assert limited.status_code == 429
    assert limited.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert recovered.status_code == 200
    assert proxy.status_code == 502
    assert proxy.headers["content-type"].startswith("text/html")
    assert [c.status for c in bot_api.calls_of("sendMessage")] == [429, 200]


async def test_lost_answer_performs_the_method_then_hangs_up(bot_api: FakeBotApi) -> None:
    bot_api.lose_next("sendMessage")
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(method_url(bot_api, "sendMessage"), data={"chat_id": 7, "text": "a"})
    [lost] = bot_api.calls_of("sendMessage")
    assert lost.ok and lost.answer_lost
    assert [m.text for m in bot_api.chat(7)] == ["a"]  # it is in the chat all the same
    assert "(answer lost)" in lost.summary()

    answered = await call(bot_api, "sendMessage", chat_id=7, text="b")  # only the next one
    assert answered.json()["ok"] is True


async def test_stalled_answer_outlasts_the_clients_timeout(bot_api: FakeBotApi) -> None:
    bot_api.lose_next("sendMessage", how=Loss.STALL)
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                method_url(bot_api, "sendMessage"), data={"chat_id": 7, "text": "a"}, timeout=0.3
            )
    assert [m.text for m in bot_api.chat(7)] == ["a"]
    assert bot_api.calls_of("sendMessage")[0].answer_lost


async def test_lost_answers_at_a_ratio_only_for_the_methods_named(bot_api: FakeBotApi) -> None:
    bot_api.lose_answers(0.5, seed=3)
    outcomes = []
    async with httpx.AsyncClient() as client:
        for n in range(20):
            try:
                await client.post(
                    method_url(bot_api, "sendMessage"), data={"chat_id": 7, "text": str(n)}
                )
                outcomes.append("answered")
            except httpx.RemoteProtocolError:
                outcomes.append("lost")
        assert (await client.post(method_url(bot_api, "getMe"))).status_code == 200
    assert 3 <= outcomes.count("lost") <= 17
    assert len(bot_api.chat(7)) == 20  # every one performed
    assert [c.answer_lost for c in bot_api.calls_of("sendMessage")] == [
        o == "lost" for o in outcomes
    ]
    assert not bot_api.calls_of("getMe")[0].answer_lost


async def test_answer_of_any_shape(bot_api: FakeBotApi) -> None:
    bot_api.answer_with("getMe", ["not", "a", "user"])
    answer = (await call(bot_api, "getMe")).json()
    assert answer == {"ok": True, "result": ["not", "a", "user"]}


async def test_waiting_sees_later_calls_and_explains_timeouts(bot_api: FakeBotApi) -> None:
    waiter = asyncio.create_task(bot_api.wait_for_text(5, "ready", timeout=2))
    await call(bot_api, "sendMessage", chat_id=5, text="all ready")

    assert (await waiter).text == "all ready"
    with pytest.raises(TimeoutError, match="sendMessage -> 200"):
        await bot_api.wait_for_text(5, "never", timeout=0.05)


async def test_upload_is_hashed_and_its_file_id_can_be_sent_again(bot_api: FakeBotApi) -> None:
    data = hashlib.sha256(b"seed").digest() * (MIB // 32)
    async with httpx.AsyncClient() as client:
        uploaded = await client.post(
            method_url(bot_api, "sendDocument"),
            data={"chat_id": "9", "caption": "here"},
            files={"document": ("clip.mkv", data, "application/octet-stream")},
        )
    document = uploaded.json()["result"]["document"]
    resent = await call(bot_api, "sendDocument", chat_id=9, document=document["file_id"])
    unknown = await call(bot_api, "sendDocument", chat_id=9, document="AgADnotours")

    delivered = await bot_api.wait_for_file(9, timeout=1)
    assert delivered.files["document"].sha256 == hashlib.sha256(data).hexdigest()
    assert delivered.files["document"].size == MIB
    assert (document["file_size"], document["file_name"]) == (MIB, "clip.mkv")
    assert document["mime_type"] == "video/x-matroska"
    assert resent.json()["result"]["document"] == document
    assert unknown.json()["description"] == (
        "Bad Request: wrong file identifier/HTTP URL specified"
    )
    assert [m.caption for m in bot_api.chat(9)] == ["here", None]
    assert [f.sha256 for f in bot_api.sent_files(9)] == [hashlib.sha256(data).hexdigest()] * 2


async def test_upload_over_50_mb_gets_413_while_streaming(bot_api: FakeBotApi) -> None:
    boundary = "fakeboundary1234"

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n9\r\n'
            f"--{boundary}\r\nContent-Disposition: form-data; "
            'name="document"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        chunk = bytes(MIB)
        for _ in range(51):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    async with httpx.AsyncClient(timeout=20) as client:
        response = await client.post(
            method_url(bot_api, "sendDocument"),
            content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    assert response.status_code == 413
    assert response.json()["description"] == "Request Entity Too Large"
    assert bot_api.calls[-1].status == 413
    assert bot_api.calls[-1].params["chat_id"] == 9
    assert bot_api.chat(9) == []


async def test_local_mode_reads_paths_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3" + bytes(5000))
    async with FakeBotApi(local_mode=True) as api:
        sent = await call(api, "sendAudio", chat_id=3, audio=path.as_uri(), title="Song")

    audio = sent.json()["result"]["audio"]
    assert (audio["file_name"], audio["title"], audio["mime_type"]) == (
        "song.mp3",
        "Song",
        "audio/mpeg",
    )
    assert api.calls[-1].files["audio"].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


async def test_python_telegram_bot_works_against_the_fake(
    bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without it PTB 22 warns on every RetryAfter it builds (retry_after becomes a timedelta).
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Cancel", callback_data="cancel")]]
    )
    async with telegram.Bot(bot_api.token, base_url=f"{bot_api.url}/bot") as bot:
        assert bot.username == "tgfetch_bot"
        await bot.set_my_commands([("start", "Start")], language_code="fa")
        status = await bot.send_message(3, "<i>Queued</i>", parse_mode="HTML", reply_markup=markup)
        video = await bot.send_video(
            3, b"\0" * 1000, filename="v.mp4", width=320, height=240, duration=2, thumbnail=b"jpg"
        )
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text(
                "<i>Queued</i>", 3, status.message_id, parse_mode="HTML", reply_markup=markup
            )
        # The same words without the italics are a different message, as in Telegram.
        plain = await bot.edit_message_text("Queued", 3, status.message_id, reply_markup=markup)
        bot_api.fail_next("sendChatAction", 429, retry_after=7)
        with pytest.raises(RetryAfter):
            await bot.send_chat_action(3, "upload_video")
        bot_api.push_callback(3, status.message_id, "cancel")
        [update] = await bot.get_updates(timeout=1)
        assert update.callback_query is not None
        assert await update.callback_query.answer("Cancelled")

    assert isinstance(plain, telegram.Message)
    assert status.text == plain.text == "Queued"
    assert status.reply_markup == markup
    assert video.video is not None
    assert (video.video.width, video.video.file_name) == (320, "v.mp4")
    assert video.video.thumbnail is not None
    assert sorted(bot_api.calls_of("sendVideo")[0].files) == ["thumbnail", "video"]
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == status.message_id
    assert bot_api.commands("fa") == [{"command": "start", "description": "Start"}]


async def test_media_file_content_ranges_and_lengths(media: MediaServer) -> None:
    size = 300_000
    expected = MediaServer.expected_bytes("a.bin", size)
    async with httpx.AsyncClient() as client:
        whole = await client.get(media.url(f"/file/a.bin?size={size}&type=video/mp4"))
        head = await client.head(media.url(f"/file/a.bin?size={size}"))
        part = await client.get(
            media.url(f"/file/a.bin?size={size}"), headers={"Range": "bytes=1000-"}
        )
        chunked = await client.get(media.url(f"/file/a.bin?size={size}&nolength=1&chunk=7000"))
        failing = await client.get(media.url("/file/a.bin?status=404"))

    assert hashlib.sha256(whole.content).hexdigest() == MediaServer.expected_sha256("a.bin", size)
    assert whole.content == expected
    assert whole.headers["content-type"] == "video/mp4"
    assert (head.headers["content-length"], head.content) == (str(size), b"")
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    assert part.content == expected[1000:]
    assert "content-length" not in chunked.headers
    assert chunked.content == expected
    assert failing.status_code == 404
    assert media.active_streams == 0


async def test_media_throttle_and_cancelled_download(media: MediaServer) -> None:
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        slow = await client.get(media.url("/file/slow?size=60000&rate=200000"))
        elapsed = time.monotonic() - started
        async with client.stream("GET", media.url("/file/big?size=50000000&rate=1000000")) as big:
            async for _ in big.aiter_bytes():
                break
            await media.wait_streams(1, timeout=2)

    assert len(slow.content) == 60_000
    assert elapsed >= 0.2  # throttled: 60 kB at 200 kB/s; an upper bound would be the machine's
    await media.wait_streams(0, timeout=2)


async def test_static_files_pages_and_redirects(media: MediaServer, media_dir: Path) -> None:
    (media_dir / "clip.mp4").write_bytes(bytes(range(256)) * 40)
    video_url = media.url("/static/clip.mp4")
    async with httpx.AsyncClient() as client:
        static = await client.get(video_url, headers={"Range": "bytes=-10"})
        missing = await client.get(media.url("/static/nothing.mp4"))
        page = await client.get(media.url(f"/page/one?video={video_url}&title=Cats"))
        empty = await client.get(media.url("/page/empty"))
        moved = await client.get(media.url(f"/redirect?to={video_url}&status=301"))
        with pytest.raises(httpx.ReadTimeout):
            await client.get(media.url("/hang"), timeout=0.1)

    assert static.status_code == 206
    assert static.headers["content-type"] == "video/mp4"
    assert static.content == bytes(range(246, 256))
    assert missing.status_code == 404
    assert "<title>Cats</title>" in page.text
    assert f'<video controls src="{video_url}">' in page.text
    assert "<video" not in empty.text
    assert (moved.status_code, moved.headers["location"]) == (301, video_url)
    assert await media.wait_for_request("/hang", timeout=1) == ("GET", "/hang")


def test_ffmpeg_makes_real_media(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=1, width=160, height=120)
    audio = make_audio(tmp_path / "a.m4a", seconds=1)

    assert b"ftyp" in video.read_bytes()[:16]
    assert b"ftyp" in audio.read_bytes()[:16]
    assert b"Test Tone" in audio.read_bytes()
