"""Admins hear of a site's refusal at most once an hour per reason, with the fix named."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.daily.site_alerts import SiteAlerts
from bot.i18n import Translator
from bot.model.failures import FailureReason

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[int, str]] = []

    async def send(self, chat_id: int, text: str) -> None:
        self.messages.append((chat_id, text))


async def flush(alerts: SiteAlerts) -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await alerts.close()


async def test_one_notice_an_hour_per_reason_to_every_admin() -> None:
    now = [T0]
    sent = Sent()

    async def translator(_admin: int) -> Translator:
        return Translator("en")

    alerts = SiteAlerts(admins=(1, 2), sender=sent, translator_of=translator, clock=lambda: now[0])
    alerts.seen(FailureReason.BOT_CHECK, "https://www.youtube.com/watch?v=x")
    await flush(alerts)
    alerts.seen(FailureReason.BOT_CHECK, "https://www.youtube.com/watch?v=y")
    alerts.seen(FailureReason.RATE_LIMITED, "https://media.example/a")
    alerts.seen(FailureReason.TIMEOUT, "https://media.example/b")  # nothing an admin fixes
    await flush(alerts)
    now[0] = T0 + dt.timedelta(minutes=59)
    alerts.seen(FailureReason.BOT_CHECK, "https://www.youtube.com/watch?v=z")
    await flush(alerts)
    assert [chat for chat, _ in sent.messages] == [1, 2, 1, 2]
    bot_check, rate_limited = sent.messages[0][1], sent.messages[2][1]
    assert "www.youtube.com" in bot_check
    assert "Cookies" in bot_check
    assert "YTDLP_POT_PROVIDER_URL" in bot_check
    assert "429" in rate_limited
    now[0] = T0 + dt.timedelta(hours=1)
    alerts.seen(FailureReason.BOT_CHECK, "https://www.youtube.com/watch?v=z")
    alerts.seen(FailureReason.FORMAT_UNAVAILABLE, "https://www.youtube.com/watch?v=z")
    await flush(alerts)
    assert len(sent.messages) == 8
    assert "doctor" in sent.messages[-1][1]
