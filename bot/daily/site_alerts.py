"""Telling the admins when sites refuse the bot in a way they can fix: the bot check, a 429,
"Requested format is not available". At most one notice an hour per reason, naming the fix; the
users are told by their own jobs."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from bot.daily.expiry import NoticeSender, SendError
from bot.i18n import N_, Translator
from bot.model.failures import FailureReason

log = logging.getLogger(__name__)

INTERVAL = dt.timedelta(hours=1)

_HEAD = N_("⚠️ A site refused the bot: {what} (last: {host}).")
_FIXES: dict[FailureReason, tuple[str, str]] = {
    FailureReason.BOT_CHECK: (
        N_("its bot check (\u201cconfirm you\u2019re not a bot\u201d)"),
        N_(
            "What helps: cookies of a logged-in account (/admin → Cookies), a PO-token provider"
            " (YTDLP_POT_PROVIDER_URL), and a current yt-dlp (/admin → yt-dlp). The jobs are"
            " tried again for PARK_RETRY_HOURS."
        ),
    ),
    FailureReason.RATE_LIMITED: (
        N_("too many requests (HTTP 429)"),
        N_(
            "What helps: fewer downloads at once (DOWNLOAD_WORKERS), cookies of a logged-in"
            " account (/admin → Cookies), or another address (DOWNLOAD_PROXY_URL). The jobs are"
            " tried again for PARK_RETRY_HOURS."
        ),
    ),
    FailureReason.FORMAT_UNAVAILABLE: (
        N_("\u201cRequested format is not available\u201d"),
        N_(
            "Usual causes: expired cookies (replace them: /admin → Cookies), no JavaScript"
            " runtime (run `python main.py doctor`), or an old yt-dlp (/admin → yt-dlp, or"
            " `python main.py update-ytdlp`)."
        ),
    ),
}
ALERTED = frozenset(_FIXES)


def alert_text(tr: Translator, reason: FailureReason, host: str) -> str:
    what, fix = _FIXES[reason]
    head = tr(_HEAD, what=tr(what), host=html.escape(host))
    return f"{tr.line(head)}\n{tr.line(html.escape(tr(fix)))}"


class SiteAlerts:
    """One notice per reason an hour to every admin; sends run as tasks it owns."""

    def __init__(
        self,
        *,
        admins: tuple[int, ...],
        sender: NoticeSender,
        translator_of: Callable[[int], Awaitable[Translator]],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._admins = admins
        self._sender = sender
        self._translator_of = translator_of
        self._clock = clock
        self._last: dict[FailureReason, dt.datetime] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def seen(self, reason: FailureReason, url: str) -> None:
        """A job failed (or was parked) for `reason`; called from the event loop, never waits."""
        if reason not in ALERTED or not self._admins:
            return
        now = self._clock()
        last = self._last.get(reason)
        if last is not None and now - last < INTERVAL:
            return
        self._last[reason] = now
        host = urlsplit(url).hostname or "?"
        task = asyncio.create_task(self._send(reason, host), name=f"alert-{reason}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, reason: FailureReason, host: str) -> None:
        log.warning(
            "site_refused_alert reason=%s host=%s admins=%d", reason, host, len(self._admins)
        )
        for admin in self._admins:
            try:
                tr = await self._translator_of(admin)
                await self._sender.send(admin, alert_text(tr, reason, host))
            except SendError as exc:
                log.warning("alert_unsent admin=%d reason=%s error=%s", admin, reason, exc)
            except Exception:  # task boundary: an alert must never take anything down
                log.exception("alert_failed admin=%d reason=%s", admin, reason)

    async def close(self) -> None:
        """Stop sends still under way (the daemon stops)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
