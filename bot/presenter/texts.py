"""Every text a job shows in the chat, one place per event: queue, work, the format question,
progress, and the job's last word (failures, cancelled, interrupted, unconfirmed)."""

from __future__ import annotations

import html
import math

from bot.history.texts import reason_label
from bot.i18n import N_, N_plural, Translator
from bot.i18n.formats import clean_text, human_duration, human_size, number, percent, short_url
from bot.jobs.events import NeedChoice, Progress
from bot.jobs.outcomes import Cancelled, Delivered, Failed, Outcome, Parked
from bot.model.failures import FailureReason
from bot.model.job import FormatChoice
from bot.telegram_io.chat import Buttons

BAR_WIDTH = 12

_FAILURES: dict[FailureReason, str] = {
    FailureReason.INVALID_URL: N_("That link is not a valid web address (http:// or https://)."),
    FailureReason.BLOCKED_URL: N_(
        "That address is not allowed: it points inside a private network."
    ),
    FailureReason.DNS: N_("The site's name could not be found. Check the link."),
    FailureReason.CONNECTION: N_(
        "The site could not be reached: it refused or dropped the connection. Check the link,"
        " or try again later."
    ),
    FailureReason.CONNECTION_LOST: N_(
        "The connection to the site broke off before the file was complete. Please try again."
    ),
    FailureReason.TLS: N_(
        "The site's secure connection failed: its certificate could not be verified."
    ),
    FailureReason.REDIRECTS: N_("The link sends the bot on too many redirects, so it gave up."),
    FailureReason.TIMEOUT: N_("The site took too long to answer, so the download was stopped."),
    FailureReason.LOGIN_REQUIRED: N_(
        "The site shows this only after a login (a private, age-restricted or members-only"
        " video), so the bot cannot fetch it."
    ),
    FailureReason.GEO_BLOCKED: N_("The site does not offer this in the bot's country."),
    FailureReason.RATE_LIMITED: N_(
        "The site is limiting how often the bot may ask (too many requests). Please try again"
        " later."
    ),
    FailureReason.BOT_CHECK: N_(
        "The site asked the bot to prove it is not a robot, and the bot could not. Please try"
        " again later."
    ),
    FailureReason.FORMAT_UNAVAILABLE: N_(
        "The site did not offer this in any format the bot can fetch right now. Please try"
        " again later."
    ),
    FailureReason.UNAVAILABLE: N_(
        "This is no longer available: it was removed, or it is not public."
    ),
    FailureReason.UPCOMING: N_(
        "This has not started yet (a live stream or a premiere). Send the link again once it is"
        " out."
    ),
    FailureReason.BAD_ENCODING: N_(
        "The site sent the file compressed in a way the bot cannot read."
    ),
    FailureReason.PAGE_TOO_LARGE: N_(
        "The page is too large to look for media in: more than {limit}."
    ),
    FailureReason.NO_MEDIA: N_("No video or audio was found on that page."),
    FailureReason.UNSUPPORTED: N_(
        "That link cannot be downloaded: the site is not supported, or it would not give the file."
    ),
    FailureReason.PROCESSING: N_(
        "The media was downloaded but could not be put together: it needs more memory than the"
        " bot allows, or it is damaged."
    ),
    FailureReason.EMPTY: N_("The server sent an empty file."),
    FailureReason.UPLOAD_FAILED: N_("Telegram did not accept the file. Please try again later."),
    FailureReason.CHAT_UNAVAILABLE: N_("The chat is no longer available."),
    FailureReason.INTERRUPTED: N_("The download was interrupted too many times and was given up."),
    FailureReason.CRASHED: N_(
        "The bot stopped unexpectedly while working on this link, so it was not tried again."
    ),
    FailureReason.DISK_FULL: N_("The server is out of disk space. Please try again later."),
    FailureReason.NOT_SPLIT: N_(
        "The file is larger than Telegram lets this bot send ({limit}), and only video and"
        " audio are sent in parts."
    ),
    FailureReason.SPLIT_FAILED: N_(
        "The file is larger than Telegram lets this bot send ({limit}), and it could not be cut"
        " into parts that fit."
    ),
    FailureReason.RENDER_FAILED: N_(
        "The browser could not turn that page into a PDF, nor into a picture."
    ),
    FailureReason.PAGES_UNAVAILABLE: N_(
        "Saving pages as PDF is not available on this bot right now. Please try again later."
    ),
    FailureReason.INTERNAL: N_("Something went wrong on our side. Please try again later."),
}

# An error status, by what the user can do about it; the number is shown for reference.
_HTTP_DENIED = N_(
    "The site refused access (error {status}): the file may be private or need a login."
)
_HTTP_MISSING = N_("The site says there is nothing at this link (error {status}). Check the link.")
_HTTP_BUSY = N_(
    "The site is limiting requests right now (error {status}). Please try again later."
)
_HTTP_BROKEN = N_("The site has a problem right now (error {status}). Please try again later.")
_HTTP_OTHER = N_("The site answered with error {status}.")

# Said once when a site refuses a job for now; {n}: PARK_RETRY_HOURS, rounded up.
_PARKED = N_plural(
    "⏸ The site is refusing the bot for now ({why}). I will keep trying for up to {n} hour"
    " and send the file as soon as it works.",
    "⏸ The site is refusing the bot for now ({why}). I will keep trying for up to {n} hours"
    " and send the file as soon as it works.",
)

# The limit: one rule, said the same way in /start, /help and every refusal.
LIMIT_RULE = N_("This bot sends files up to {limit}.")
_TOO_LARGE = N_("The file is too large ({size}).")
_TOO_LARGE_UNKNOWN = N_("The file is too large.")


def limit_rule(tr: Translator, limit: int) -> str:
    return tr(LIMIT_RULE, limit=human_size(tr, limit))


def _http_template(status: int | None) -> str:
    if status in (401, 403, 451):
        return _HTTP_DENIED
    if status in (404, 410):
        return _HTTP_MISSING
    if status == 429:
        return _HTTP_BUSY
    if status is not None and status >= 500:
        return _HTTP_BROKEN
    return _HTTP_OTHER


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def progress_line(tr: Translator, fraction: float) -> str:
    """The bar and the percentage. In RTL text the line is pinned right to left, so the bar
    fills from the right with the percentage after it, as right-to-left progress bars do;
    the bar's glyphs are direction-neutral and would otherwise follow whatever the client
    guesses."""
    return tr.line(f"{progress_bar(fraction)} {percent(tr, fraction)}")


def progress_text(tr: Translator, p: Progress, title: str | None = None) -> str:
    """The status message during a transfer: bar, percent, done/total, speed, ETA."""
    head = tr("Downloading…") if p.phase == "download" else tr("Uploading to Telegram…")
    lines = [f"<b>{html.escape(head)}</b>"]
    if p.parts > 1:
        lines.append(part_text(tr, p.part, p.parts, p.unit))
    if title:
        lines.append(tr.line(tr.isolate(html.escape(title))))
    if p.total:
        fraction = p.done / p.total
        lines.append(progress_line(tr, fraction))
        lines.append(
            tr("{done} of {total}", done=human_size(tr, p.done), total=human_size(tr, p.total))
        )
    else:
        lines.append(tr("{done} so far", done=human_size(tr, p.done)))
    extra = []
    if p.speed:
        extra.append(tr("{speed}/s", speed=human_size(tr, p.speed)))
    if p.eta is not None and p.total:
        extra.append(tr("{eta} left", eta=human_duration(tr, p.eta)))
    if extra:
        lines.append(" · ".join(extra))
    return "\n".join(lines)


def failure_text(tr: Translator, failed: Failed) -> str:
    """The failure in the user's words. Never a library's or a site's own words (the detail):
    those are English, and for the log."""
    reason = failed.reason
    if reason in (FailureReason.TOO_LARGE, FailureReason.TOO_LARGE_FOR_TELEGRAM):
        # One rule for the user, whichever route or setting set the limit.
        head = (
            tr(_TOO_LARGE, size=human_size(tr, failed.size))
            if failed.size
            else tr(_TOO_LARGE_UNKNOWN)
        )
        rule = limit_rule(tr, failed.limit) if failed.limit else ""
        text = f"{head} {rule}".strip()
    elif reason is FailureReason.HTTP_STATUS:
        status = tr.digits(str(failed.status)) if failed.status is not None else "?"
        text = tr(_http_template(failed.status), status=status)
    else:
        limit = human_size(tr, failed.limit) if failed.limit is not None else "?"
        text = tr(_FAILURES.get(reason, _FAILURES[FailureReason.INTERNAL]), limit=limit)
    return "❌ " + html.escape(text)


# A page that brought no media may still be worth keeping as it reads: offered as a PDF.
PRINTABLE = frozenset({FailureReason.NO_MEDIA, FailureReason.UNSUPPORTED})


def final_buttons(tr: Translator, outcome: Outcome, link_id: int | None) -> Buttons | None:
    """Under a download that found no media on a page: the page, as a PDF (/pdf)."""
    if link_id is None or not isinstance(outcome, Failed) or outcome.reason not in PRINTABLE:
        return None
    return [[(tr("📄 Save the page as PDF"), f"pdf:{link_id}")]]


FORMAT_LABELS = {
    FormatChoice.BEST: N_("🎬 Best video"),
    FormatChoice.SMALL: N_("📱 Smaller video"),
    FormatChoice.AUDIO: N_("🎵 Audio only"),
}


def other_formats(tr: Translator, job_id: int, choice: str) -> Buttons:
    """Under a link fetched in the user's default format: the other formats, for this link."""
    return [
        [
            (tr(label), f"redo:{job_id}:{other.value}")
            for other, label in FORMAT_LABELS.items()
            if other.value != choice
        ]
    ]


def cancel_buttons(tr: Translator, job_id: int) -> Buttons:
    return [[(tr("✖️ Cancel"), f"cancel:{job_id}")]]


def parked_text(tr: Translator, reason: str, hours: float) -> str:
    """Said once when a site refuses a job for now: it is tried again, the file comes then."""
    return tr.plural(_PARKED, max(1, math.ceil(hours)), why=html.escape(reason_label(tr, reason)))


def queued_text(tr: Translator, position: int) -> str:
    return tr("🕒 In the queue: position {position}.", position=number(tr, position, 0))


def resumed_text(tr: Translator) -> str:
    return tr("🔄 The bot restarted. Resuming your download…")


def working_text(tr: Translator) -> str:
    return tr("⏳ Working on your link…")


def printing_text(tr: Translator) -> str:
    """/pdf: the page is opened in the browser and printed."""
    return tr("🖨 Opening the page and printing it as a PDF…")


def preparing_text(tr: Translator) -> str:
    return tr("⏳ Preparing the download…")


def uploading_text(tr: Translator, part: int = 1, parts: int = 1, unit: str = "part") -> str:
    head = f"<b>{html.escape(tr('Uploading to Telegram…'))}</b>"
    return f"{head}\n{part_text(tr, part, parts, unit)}" if parts > 1 else head


def part_text(tr: Translator, part: int, parts: int, unit: str = "part") -> str:
    """Which part of a file in parts (or item of a playlist) is on its way: "Part 2 of 3"."""
    index, count = tr.number(part, 0), tr.number(parts, 0)
    if unit == "item":
        return html.escape(tr("Item {index} of {count}", index=index, count=count))
    return html.escape(tr("Part {index} of {count}", index=index, count=count))


def choice_prompt(tr: Translator, job_id: int, url: str, asked: NeedChoice) -> tuple[str, Buttons]:
    """The question asked on a media page, with one button per format and Cancel."""
    size = f" ({human_size(tr, asked.estimated_size)})" if asked.estimated_size else ""
    question = tr(
        "🎞 <b>{title}</b>{size}\nWhat would you like?",
        title=tr.isolate(html.escape(clean_text(asked.title or short_url(url)))),
        size=size,
    )
    deadline = tr.ngettext(
        "Best video is sent in {n} second.",
        "Best video is sent in {n} seconds.",
        round(asked.seconds),
    )
    text = f"{question} {deadline}"
    best, small, audio = (
        (tr(FORMAT_LABELS[c]), f"fmt:{job_id}:{c.value}")
        for c in (FormatChoice.BEST, FormatChoice.SMALL, FormatChoice.AUDIO)
    )
    buttons = [[best, small], [audio, (tr("✖️ Cancel"), f"cancel:{job_id}")]]
    if asked.items > 1:
        # A playlist: the buttons above are for its first item; one more takes them all.
        n = asked.items
        text += "\n" + tr(
            "📚 This is a playlist of {n} items: the format buttons send the first one, the"
            " top button sends them all.",
            n=tr.number(n, 0),
        )
        all_items = tr.ngettext("📚 All {n} item", "📚 All {n} items", n)
        buttons.insert(0, [(all_items, f"fmt:{job_id}:all")])
    return text, buttons


def unconfirmed_text(tr: Translator) -> str:
    """The answer to a send was lost: the file is most likely there; it is not sent twice."""
    return tr(
        "📨 The file was sent, but Telegram did not confirm it. It should be in this chat;"
        " if it is not, send the link again."
    )


def more_videos_text(tr: Translator, more: int) -> str:
    """The page had more videos than the one sent (a link brings one video, for now)."""
    return tr.ngettext(
        "ℹ️ Only the first video on this page was sent: it has {n} more video. One video per"
        " link, for now.",
        "ℹ️ Only the first video on this page was sent: it has {n} more videos. One video per"
        " link, for now.",
        more,
    )


def items_failed_text(tr: Translator, outcome: Delivered) -> str:
    """A playlist's items that did not go, each with its reason; the others did."""
    failed = outcome.failed
    head = tr.ngettext(
        "⚠️ {n} item could not be sent:",
        "⚠️ {n} items could not be sent:",
        len(failed),
    )
    lines = [html.escape(head)]
    for item in failed:
        reason = failure_text(tr, item.failure).removeprefix("❌ ")
        title = tr.isolate(html.escape(clean_text(item.title or "")))
        number_ = tr.number(item.index, 0)
        lines.append(
            tr.line(f"• {number_}. {title}: {reason}" if title else f"• {number_}. {reason}")
        )
    return "\n".join(lines)


def final_text(tr: Translator, outcome: Outcome, *, more_note: bool = True) -> str | None:
    """The job's last word; None when the delivered file is the answer (or another job took
    the link over). `more_note`: say when the page had more videos (the user's /settings)."""
    if isinstance(outcome, Delivered):
        said = [] if outcome.confirmed else [unconfirmed_text(tr)]
        if outcome.more and more_note:
            said.append(more_videos_text(tr, outcome.more))
        if outcome.failed:
            said.append(items_failed_text(tr, outcome))
        return "\n\n".join(said) or None
    if isinstance(outcome, Failed):
        return failure_text(tr, outcome)
    if isinstance(outcome, Cancelled):
        return None if outcome.replaced else tr("✖️ Cancelled.")
    if isinstance(outcome, Parked):  # not a last word (the job is tried again), for completeness
        return failure_text(tr, outcome.failure)
    return tr("⏸ The bot is restarting. Your download will continue when it is back.")
