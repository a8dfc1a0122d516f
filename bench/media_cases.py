"""What each kind of media arrives as, and what the two costly cases cost: issue 14's table.

Run from the project root: `.venv/bin/python -m bench.media_cases` (`make bench-media`), or
`... --main /path/to/other/checkout/main.py` to run another checkout's daemon (main before a
change, say) against this checkout's fakes. Media is made with ffmpeg in a temporary folder and
served by the test media server; the daemon talks to the fake Bot API. For every case it prints
what was sent (method, kind parameters, the MP4's top-level atoms, whether it replies to the
link); for the two-variant HLS master with the audio choice and for an h264/aac mkv it also
times the delivery (link pushed → upload answered) and counts the bytes the media server sent,
RUNS times each. Results: bench/results/media_cases-<label>.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.stack import Stack, is_upload_to
from tests.e2e.daemon import MAIN
from tests.fakes.bot_api import Call
from tests.fakes.media_files import make_hls, make_image, make_text, make_video
from tests.fakes.records import UPLOAD_METHODS

RUNS = 3
RESULTS = Path(__file__).parent / "results"
CASE_TIMEOUT = 120.0
SETTINGS = {"CHOICE_TIMEOUT_SECONDS": "60", "DOWNLOAD_WORKERS": "1", "LOG_LEVEL": "INFO"}


@dataclass
class Sent:
    """One case's delivery as the fake Bot API saw it."""

    case: str
    method: str
    filename: str | None
    caption_title: str
    params: dict[str, Any]
    atoms: list[str]
    reply: bool
    note: str | None = None
    seconds: float | None = None
    fetched: dict[str, int] = field(default_factory=dict)
    ffmpeg_s: float | None = None  # the bot's own remux or audio run, from its log (after 14)


def make_media(folder: Path) -> None:
    """Everything the cases serve, larger than the tests' so that the timings mean something."""
    make_text(folder / "notes.txt", 41_000)
    make_video(folder / "late.mp4", 4, faststart=False)
    make_video(folder / "clip.mkv", 30, 1280, 720)
    make_video(folder / "clip.webm", 4, video="vp9", audio="opus")
    (folder / "sea-trip").mkdir()
    make_hls(folder / "sea-trip", "master", (360, 720), seconds=30)
    make_video(folder / "song.mp4", 6, 640, 360)
    make_image(folder / "cover.jpg", 640, 360)


def ffmpeg_seconds(lines: list[str]) -> float | None:
    """The seconds the daemon logged for its remux or audio run (`media_remuxed seconds=`)."""
    found = [
        float(line.rsplit("seconds=", 1)[1].split()[0])
        for line in lines
        if ("media_remuxed" in line or "media_audio_tagged" in line) and "seconds=" in line
    ]
    return sum(found) if found else None


def first_line(caption: object) -> str:
    return str(caption or "").split("\n", 1)[0]


class Cases:
    """Runs each case against one daemon, one user per case."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.user = 7000

    def page(self, name: str, **query: str) -> str:
        text = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return self.stack.media.url(f"/page/{name}?{text}")

    async def deliver(self, case: str, url: str, pick: str | None = "best") -> Sent:
        api = self.stack.api
        self.user += 1
        user = self.user
        mark = api.mark()
        served = len(self.stack.media.served)
        logged = len(self.stack.daemons[-1].lines)
        started = time.monotonic()
        update = api.push_message(user, url)
        upload = asyncio.ensure_future(
            self.stack.call_seen(is_upload_to(user), CASE_TIMEOUT, after=mark)
        )
        if pick is not None:
            asked = await self._question(user, upload)
            if asked is not None:
                data = next(
                    b["callback_data"]
                    for b in asked.buttons
                    if str(b.get("callback_data", "")).endswith(f":{pick}")
                )
                api.push_callback(user, asked.message_id, data)
        call, at = await upload
        seconds = at - started
        fetched: dict[str, int] = {}
        for path, size in self.stack.media.served[served:]:
            key = path.split("?", 1)[0].rsplit("/", 1)[-1]
            key = key.rsplit("_", 1)[0] if key.endswith(".ts") else key
            fetched[key] = fetched.get(key, 0) + size
        note = await self._last_word(user)
        sent = self._sent(case, call, api.message_id_of(update), seconds, fetched, note)
        sent.ffmpeg_s = ffmpeg_seconds(self.stack.daemons[-1].lines[logged:])
        return sent

    async def _question(self, user: int, upload: asyncio.Future[Any]) -> Any:
        """The format question, if the job asks one before its file arrives."""
        api = self.stack.api
        while not upload.done():
            for message in api.chat(user):
                if any(
                    str(b.get("callback_data", "")).startswith("fmt:") for b in message.buttons
                ):
                    return message
            await asyncio.wait([upload], timeout=0.05)
        return None

    async def _last_word(self, user: int) -> str | None:
        """The bot's text left in the chat once the job ended (the status message, edited)."""
        daemon = self.stack.daemons[-1]
        await daemon.wait_lines("job_end id=", self.user - 7000, CASE_TIMEOUT)
        texts = [m.text for m in self.stack.api.chat(user) if m.text]
        return texts[-1] if texts else None

    def _sent(
        self,
        case: str,
        call: Call,
        link_message: int,
        seconds: float,
        fetched: dict[str, int],
        note: str | None,
    ) -> Sent:
        kind = UPLOAD_METHODS[call.method]
        upload = call.files.get(kind)
        shown = ("duration", "width", "height", "supports_streaming", "title", "performer")
        params = {k: call.params[k] for k in shown if k in call.params}
        if "thumbnail" in call.files:
            params["thumbnail"] = call.files["thumbnail"].size
        reply = call.params.get("reply_parameters") or {}
        replies = reply.get("message_id") == link_message or (
            call.params.get("reply_to_message_id") == link_message
        )
        return Sent(
            case=case,
            method=call.method,
            filename=upload.filename if upload else None,
            caption_title=first_line(call.params.get("caption")),
            params=params,
            atoms=list(upload.atoms) if upload else [],
            reply=bool(replies),
            note=note,
            seconds=round(seconds, 3),
            fetched=fetched,
        )


async def run(main: Path, runs: int) -> list[Sent]:
    with tempfile.TemporaryDirectory(prefix="tgfetch-media-") as tmp:
        root = Path(tmp)
        static = root / "static"
        static.mkdir()
        await asyncio.to_thread(make_media, static)
        async with Stack(root, static) as stack:
            await stack.start_daemon(root / "data", SETTINGS, main=main)
            cases = Cases(stack)
            media = stack.media
            static_url = media.url

            def hls(query: str) -> str:
                return static_url(f"/static/sea-trip/master.m3u8?{query}")

            both = (  # "report" in Persian, and an ASCII stand-in
                'attachment; filename="report.pdf"; '
                "filename*=UTF-8''%D8%B1%D8%A7%D9%BE%D9%88%D8%B1%D8%AA.pdf"
            )
            sent = [
                await cases.deliver("text file", static_url("/static/notes.txt"), None),
                await cases.deliver("mp4, moov at the end", static_url("/static/late.mp4"), None),
                await cases.deliver("webm vp9/opus", static_url("/static/clip.webm"), None),
                await cases.deliver(
                    "audio from a page (og:video, og:image)",
                    cases.page(
                        "song",
                        og=static_url("/static/song.mp4"),
                        image=static_url("/static/cover.jpg"),
                        title="Evening Tune",
                    ),
                    "audio",
                ),
                await cases.deliver(
                    "Content-Disposition with both names",
                    static_url(f"/file/both.bin?size=20000&disposition={quote(both)}"),
                    None,
                ),
                await cases.deliver("title of a direct HLS link", hls("t=1"), "best"),
                await cases.deliver(
                    "page with two videos",
                    cases.page(
                        "two",
                        video=static_url("/static/late.mp4?x=1"),
                        video2=static_url("/static/late.mp4?x=2"),
                        title="Two Clips",
                    ),
                    "best",
                ),
            ]
            for n in range(runs):
                sent.append(await cases.deliver("HLS master, audio only", hls(f"r={n}"), "audio"))
                sent.append(
                    await cases.deliver(
                        "mkv h264/aac (30 s, 720p)", static_url(f"/static/clip.mkv?r={n}"), None
                    )
                )
    return sent


def report(label: str, sent: list[Sent]) -> str:
    lines = [
        f"# media cases: {label}",
        "",
        "| case | method | file name | caption title | parameters | atoms | reply | last word |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    seen: set[str] = set()
    for s in sent:
        if s.case in seen:
            continue
        seen.add(s.case)
        lines.append(
            f"| {s.case} | {s.method} | {s.filename} | {s.caption_title} | "
            f"{json.dumps(s.params, ensure_ascii=False)} | {' '.join(s.atoms[:4])} | "
            f"{'yes' if s.reply else 'no'} | {s.note or ''} |"
        )
    lines += [
        "",
        "| timed case | seconds (runs) | median | bot's ffmpeg run (median) "
        "| bytes fetched (last run) |",
    ]
    lines.append("| --- | --- | ---: | ---: | --- |")
    for case in ("HLS master, audio only", "mkv h264/aac (30 s, 720p)"):
        runs = [s for s in sent if s.case == case]
        times = [s.seconds or 0.0 for s in runs]
        last = runs[-1].fetched
        tools = [s.ffmpeg_s for s in runs if s.ffmpeg_s is not None]
        tool = f"{statistics.median(tools):.2f} s" if tools else "none"
        fetched = ", ".join(f"{k} {v:,}" for k, v in sorted(last.items()))
        lines.append(
            f"| {case} | {', '.join(f'{t:.2f}' for t in times)} | "
            f"{statistics.median(times):.2f} | {tool} | {fetched} (total {sum(last.values()):,}) |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--main", type=Path, default=MAIN, help="the daemon's main.py")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    sent = asyncio.run(run(args.main.resolve(), args.runs))
    text = report(args.label, sent)
    RESULTS.mkdir(exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in args.label).strip("-")
    (RESULTS / f"media_cases-{slug}.json").write_text(
        json.dumps([asdict(s) for s in sent], indent=1, ensure_ascii=False)
    )
    (RESULTS / f"media_cases-{slug}.md").write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
