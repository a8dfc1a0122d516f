"""A Persian-speaking user gets the whole bot in Persian; /language switches and is kept."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.conftest import StartDaemon
from tests.e2e.seed import DAY, OldLink, now, seed
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.media_server import MediaServer

USER = 7001
FA = "fa"
PERSIAN = re.compile(r"[\u0600-\u06ff]")
BIDI_CONTROLS = re.compile("[\u200e\u200f\u2066-\u2069]")
SOLAR_HIJRI_MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)


def plain(text: str) -> str:
    """The text without its invisible direction marks: what the user reads."""
    return BIDI_CONTROLS.sub("", text)


async def test_persian_user_sees_the_whole_flow_in_persian(
    bot_api: FakeBotApi, media: MediaServer, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    bot_api.push_message(USER, "/start", first_name="Ada", language_code=FA)
    welcome = await bot_api.wait_for_text(USER, "سلام")
    assert "Ada" in welcome.content
    assert "/help" in welcome.content  # commands stay as they are, isolated left to right

    bot_api.push_message(USER, "/help", language_code=FA)
    help_msg = await bot_api.wait_for_text(USER, "دستورها")
    assert all(f"/{name}" in help_msg.content for name in ("start", "cancel", "language"))

    # A download: progress in Persian words and digits, a Persian cancel button.
    mark = bot_api.mark()
    bot_api.push_message(USER, media.url("/file/x.bin?size=600000&rate=150000"), language_code=FA)
    progress = await bot_api.wait_for(
        lambda c: c.chat_id == USER and "٪" in str(c.params.get("text")), timeout=15, after=mark
    )
    text = plain(str(progress.params["text"]))
    assert "در حال دانلود" in text
    assert "کیلوبایت" in text
    assert not re.search("[0-9]", text), text  # every number in Persian digits
    buttons = progress.params["reply_markup"]["inline_keyboard"]
    assert plain(buttons[0][0]["text"]) == "✖️ لغو"

    # The delivered file's caption gives its size in Persian.
    call = await bot_api.wait_for_file(USER, after=mark)
    assert "۵۸۵٫۹ کیلوبایت" in plain(str(call.params["caption"]))

    # A failure says what went wrong, in Persian.
    bot_api.push_message(USER, media.url("/file/gone.bin?size=10&status=404"), language_code=FA)
    # (Not waiting for "404" itself: the media server's port may contain it, as in 44043.)
    failure = await bot_api.wait_for_text(USER, "❌")
    assert "۴۰۴" in failure.content  # the status, in Persian digits
    assert not re.search("[A-Za-z]", failure.content), failure.content
    assert PERSIAN.search(failure.content)

    # The history lists both, with Solar Hijri dates ("۸ آذر ۱۴۰۵، ۱۴:۰۵", "... ۱:۰۵" before
    # ten: Persian hours have no leading zero; test_history_times_at_one_and_thirteen).
    bot_api.push_message(USER, "/history", language_code=FA)
    history = await bot_api.wait_for_text(USER, "لینک‌های شما")
    shown = plain(history.content)
    assert "x.bin" in shown
    assert "gone.bin" in shown
    month = "|".join(SOLAR_HIJRI_MONTHS)
    date = rf"[۰-۹]{{1,2}} (?:{month}) ۱۴[۰-۹]{{2}}، [۰-۹]{{1,2}}:[۰-۹]{{2}}"
    assert re.search(date, shown), shown

    # Text that is not a link is explained in Persian too.
    bot_api.push_message(USER, "سلام", language_code=FA)
    await bot_api.wait_for_text(USER, "لینکی پیدا نکردم")


async def test_history_times_at_one_and_thirteen_in_tehran(
    bot_api: FakeBotApi, start_daemon: StartDaemon, data_dir: Path
) -> None:
    # Two links sent on 29 November 2026 (8 Azar 1405) at 01:05 and 13:05 Tehran time
    # (UTC+03:30): a known day of the Solar Hijri calendar, whatever the hour and the time
    # zone the tests run in. The daily job ran just now, so nothing is purged at start.
    tehran = ZoneInfo("Asia/Tehran")
    moments = [dt.datetime(2026, 11, 29, h, 5, tzinfo=tehran) for h in (1, 13)]
    links = [OldLink(USER, f"https://t.example/at{m.hour}h", DAY, at=m) for m in moments]
    await seed(data_dir, links=links, last_run=now())
    await start_daemon(TZ="Asia/Tehran")
    bot_api.push_message(USER, "/history", language_code=FA)
    history = await bot_api.wait_for_text(USER, "لینک‌های شما")
    lines = plain(history.content).splitlines()
    shown = {
        hour: next(line for line in lines if f"t.example/at{hour}h" in line) for hour in (1, 13)
    }
    assert "۸ آذر ۱۴۰۵، ۱:۰۵ " in shown[1], shown[1]
    assert "۸ آذر ۱۴۰۵، ۱۳:۰۵ " in shown[13], shown[13]
    # The same history in English keeps the Gregorian calendar.
    bot_api.push_message(USER, "/language", language_code=FA)
    menu = await bot_api.wait_for_text(USER, "زبان:")
    bot_api.push_callback(USER, menu.message_id, "lang:en", language_code=FA)
    await bot_api.wait_for_text(USER, "speak English")
    bot_api.push_message(USER, "/history", language_code=FA)
    english = await bot_api.wait_for_text(USER, "Your links")
    assert "Nov 29, 2026, 1:05\u202fAM" in english.content
    assert "Nov 29, 2026, 1:05\u202fPM" in english.content


async def test_language_command_switches_and_the_choice_is_kept(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.push_message(USER, "/language", language_code=FA)
    menu = await bot_api.wait_for_text(USER, "زبان:")
    labels = [plain(b["text"]) for b in menu.buttons]
    assert labels == ["English", "فارسی", "✓ 🌐 خودکار", "⚙️ تنظیمات"]  # and the other settings

    bot_api.push_callback(USER, menu.message_id, "lang:en", language_code=FA)
    await bot_api.wait_for_text(USER, "From now on I'll speak English with you.")
    bot_api.push_message(USER, "/help", language_code=FA)
    await bot_api.wait_for_text(USER, "How to use me")

    # Kept in the database: still English after a restart, though Telegram says Persian.
    await daemon.stop()
    await start_daemon()
    bot_api.push_message(USER, "/start", first_name="Ada", language_code=FA)
    await bot_api.wait_for_text(USER, "Hi Ada")

    bot_api.push_message(USER, "/language", language_code=FA)
    menu = await bot_api.wait_for_text(USER, "Choose a language")
    labels = [plain(b["text"]) for b in menu.buttons]
    assert labels == ["✓ English", "فارسی", "🌐 Automatic", "⚙️ Settings"]
    bot_api.push_callback(USER, menu.message_id, "lang:auto", language_code=FA)
    await bot_api.wait_for_text(USER, "خودکار")
    bot_api.push_message(USER, "/start", first_name="Ada", language_code=FA)
    await bot_api.wait_for_text(USER, "سلام")

    # An English speaker can choose Persian.
    bot_api.push_message(USER + 1, "/language")
    menu = await bot_api.wait_for_text(USER + 1, "Choose a language")
    bot_api.push_callback(USER + 1, menu.message_id, "lang:fa")
    confirmed = await bot_api.wait_for_text(USER + 1, "فارسی")
    assert "✅" in confirmed.content


async def test_command_menu_is_registered_in_persian(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    await start_daemon()
    await bot_api.wait_for(
        lambda c: c.method == "setMyCommands" and c.params.get("language_code") == FA and c.ok
    )
    english, persian = bot_api.commands(), bot_api.commands(language_code=FA)
    assert [c["command"] for c in persian] == [c["command"] for c in english]
    assert "language" in [c["command"] for c in persian]
    for command in persian:
        assert PERSIAN.search(command["description"]), command
    assert english[0]["description"] == "What this bot does"
