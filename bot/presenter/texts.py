"""Every text a job shows in the chat, one place per event: queue, work, the format question,
progress, and the job's last word (failures, cancelled, interrupted, unconfirmed)."""

from __future__ import annotations

import html

from bot.i18n import N_, Translator
from bot.i18n.formats import clean_text, human_duration, human_size, number, percent, short_url
from bot.jobs.events import NeedChoice, Progress
from bot.jobs.outcomes import Cancelled, Delivered, Failed, Outcome
from bot.model.failures import FailureReason
from bot.telegram_io.chat import Buttons

BAR_WIDTH = 12

_FAILURES: dict[FailureReason, str] = {
    FailureReason.INVALID_URL: N_("That link is not a valid http(s) URL."),
    FailureReason.BLOCKED_URL: N_(
        "That address is not allowed: it points inside a private network."
    ),
    FailureReason.DNS: N_("The site's name could not be found (DNS). Check the link."),
    FailureReason.CONNECTION: N_("The site could not be reached: {detail}."),
    FailureReason.HTTP_STATUS: N_("The site answered with an error: HTTP {status}."),
    FailureReason.TIMEOUT: N_("The site took too long to answer, so the download was stopped."),
    FailureReason.TOO_LARGE: N_("The file is too large: {size}, the limit is {limit}."),
    FailureReason.TOO_LARGE_FOR_TELEGRAM: N_(
        "The file is {size}, more than Telegram lets this bot upload ({limit}). "
        "The operator can set API_ID and API_HASH to send files up to 2 GB."
    ),
    FailureReason.PAGE_TOO_LARGE: N_(
        "The page is too large to look for media in: more than {limit}."
    ),
    FailureReason.NO_MEDIA: N_("No video or audio was found on that page."),
    FailureReason.UNSUPPORTED: N_("That link cannot be downloaded: {detail}."),
    FailureReason.EMPTY: N_("The server sent an empty file."),
    FailureReason.UPLOAD_FAILED: N_("Telegram did not accept the file: {detail}."),
    FailureReason.CHAT_UNAVAILABLE: N_("The chat is no longer available."),
    FailureReason.INTERRUPTED: N_("The download was interrupted too many times and was given up."),
    FailureReason.CRASHED: N_(
        "The bot stopped unexpectedly while working on this link, so it was not tried again."
    ),
    FailureReason.DISK_FULL: N_("The server is out of disk space. Please try again later."),
    FailureReason.INTERNAL: N_("Something went wrong on our side. Please try again later."),
}


# When the size is unknown (the limit was hit while streaming a file of unannounced size).
_FAILURES_NO_SIZE: dict[FailureReason, str] = {
    FailureReason.TOO_LARGE: N_("The file is too large: more than the limit of {limit}."),
    FailureReason.TOO_LARGE_FOR_TELEGRAM: N_(
        "The file is larger than Telegram lets this bot upload ({limit}). "
        "The operator can set API_ID and API_HASH to send files up to 2 GB."
    ),
}


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
    params: dict[str, object] = {"detail": tr.isolate(failed.detail or failed.reason.value)}
    params["size"] = human_size(tr, failed.size) if failed.size is not None else "?"
    params["limit"] = human_size(tr, failed.limit) if failed.limit is not None else "?"
    params["status"] = failed.status if failed.status is not None else "?"
    template = _FAILURES.get(failed.reason, _FAILURES[FailureReason.INTERNAL])
    if failed.size is None and failed.reason in _FAILURES_NO_SIZE:
        template = _FAILURES_NO_SIZE[failed.reason]
    return "❌ " + html.escape(tr(template, **params))


def cancel_buttons(tr: Translator, job_id: int) -> Buttons:
    return [[(tr("✖️ Cancel"), f"cancel:{job_id}")]]


def queued_text(tr: Translator, position: int) -> str:
    return tr("🕒 In the queue: position {position}.", position=number(tr, position, 0))


def resumed_text(tr: Translator) -> str:
    return tr("🔄 The bot restarted. Resuming your download…")


def working_text(tr: Translator) -> str:
    return tr("⏳ Working on your link…")


def preparing_text(tr: Translator) -> str:
    return tr("⏳ Preparing the download…")


def uploading_text(tr: Translator) -> str:
    return f"<b>{html.escape(tr('Uploading to Telegram…'))}</b>"


def choice_prompt(tr: Translator, job_id: int, url: str, asked: NeedChoice) -> tuple[str, Buttons]:
    """The question asked on a media page, with one button per format and Cancel."""
    size = f" ({human_size(tr, asked.estimated_size)})" if asked.estimated_size else ""
    text = tr(
        "🎞 <b>{title}</b>{size}\nWhat would you like? Best video is sent in {seconds} s.",
        title=tr.isolate(html.escape(clean_text(asked.title or short_url(url)))),
        size=size,
        seconds=number(tr, asked.seconds, 0),
    )
    buttons = [
        [
            (tr("🎬 Best video"), f"fmt:{job_id}:best"),
            (tr("📱 Smaller video"), f"fmt:{job_id}:small"),
        ],
        [
            (tr("🎵 Audio only"), f"fmt:{job_id}:audio"),
            (tr("✖️ Cancel"), f"cancel:{job_id}"),
        ],
    ]
    return text, buttons


def unconfirmed_text(tr: Translator) -> str:
    """The answer to a send was lost: the file is most likely there; it is not sent twice."""
    return tr(
        "📨 The file was sent, but Telegram did not confirm it. It should be in this chat;"
        " if it is not, send the link again."
    )


def more_videos_text(tr: Translator, more: int) -> str:
    """The page had more videos than the one sent (a link brings one video, for now)."""
    return tr(
        "ℹ️ Only the first video on this page was sent; the page has {n} more (one video per"
        " link for now).",
        n=number(tr, more, 0),
    )


def final_text(tr: Translator, outcome: Outcome) -> str | None:
    """The job's last word; None when the delivered file is the answer."""
    if isinstance(outcome, Delivered):
        said = [] if outcome.confirmed else [unconfirmed_text(tr)]
        if outcome.more:
            said.append(more_videos_text(tr, outcome.more))
        return "\n\n".join(said) or None
    if isinstance(outcome, Failed):
        return failure_text(tr, outcome)
    if isinstance(outcome, Cancelled):
        return tr("✖️ Cancelled.")
    return tr("⏸ The bot is restarting. Your download will continue when it is back.")
