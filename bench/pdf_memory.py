"""`make bench-pdf`: /pdf on a typical article: time to the document and the peak memory of the
daemon with its browser. Writes bench/results/pdf.json and pdf.md.

The article is made here and served on 127.0.0.1 (no internet): about 1,500 words, a 60 KB
stylesheet, a 300 KB script bundle that runs, eight 1000x600 pictures (three lazy, by
`data-src`, `data-original` and `loading=lazy`). Each run is a fresh daemon (ALLOW_PRIVATE_URLS
so the loopback site passes the guard; the vetting proxy still carries every request): its
first /pdf starts the browser (cold), a second one in the same daemon finds it running (warm).

The process tree (daemon, Playwright's Node.js driver, Chromium's processes) is read every
50 ms: RSS summed over the tree (what `ps` would add up: Chromium's processes share much of
their memory, so it overstates), and PSS summed (each shared page divided among the processes
sharing it: what the tree costs the machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import struct
import tempfile
import time
import zlib
from pathlib import Path

from aiohttp import web

from bench.report import machine, machine_line, now, progress, say, write
from bench.stack import Stack, is_upload_to
from tests.e2e.procfs import MB, descendants
from tests.e2e.sampler import Sampler

USER = 70_000
RUNS = 3
WORDS = 1500


def picture(seed: int, width: int = 1000, height: int = 600) -> bytes:
    """A PNG of gradients with a little grain: about the bytes of an article's photograph."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            grain = (x * 7919 + y * 104729 + seed * 31) % 5
            row += bytes(((x // 4 + seed * 40) % 256, (y // 3) % 256, (x + y) // 8 % 256 + grain))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + chunk(b"IEND", b"")
    )


def article() -> str:
    words = ("archive", "history", "reader", "network", "library", "record", "page", "story")
    paragraphs = []
    for n in range(30):
        text = " ".join(words[(n * 3 + i) % len(words)] for i in range(WORDS // 30))
        paragraphs.append(f"<p>{text.capitalize()}.</p>")
        if n % 4 == 1:
            i = n // 4
            lazy = (
                f'src="/img/{i}.png"',
                f'data-src="/img/{i}.png" src="data:,"',
                f'data-original="/img/{i}.png"',
                f'loading="lazy" src="/img/{i}.png"',
            )[i % 4]
            paragraphs.append(f'<figure><img {lazy} width="1000" height="600"></figure>')
    body = "\n".join(paragraphs)
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>A typical article</title>"
        '<link rel=stylesheet href="/style.css"><script src="/bundle.js"></script></head>'
        f"<body><header><nav>Home · World · Tech</nav></header><article><h1>A typical article"
        f"</h1>{body}</article><footer>© the site</footer></body></html>"
    )


def bundle() -> str:
    """About 300 KB of JavaScript that runs: a framework's worth of functions, then a render."""
    functions = [f"function f{i}(a){{return a*{i}+{i % 7}}}" for i in range(12_000)]
    return ";".join(functions) + ";let s=0;for(let i=0;i<12000;i++)s+=window['f'+i](i);"


def stylesheet() -> str:
    rules = [f".c{i}{{margin:{i % 9}px;color:#{i % 4096:03x}}}" for i in range(2500)]
    return "body{font:17px/1.6 serif;max-width:760px;margin:auto}img{max-width:100%}" + "".join(
        rules
    )


async def serve() -> tuple[web.AppRunner, str]:
    pictures = {f"/img/{i}.png": picture(i) for i in range(8)}
    files = {
        "/article": (article().encode(), "text/html"),
        "/bundle.js": (bundle().encode(), "application/javascript"),
        "/style.css": (stylesheet().encode(), "text/css"),
    }
    files.update({path: (data, "image/png") for path, data in pictures.items()})

    async def handle(request: web.Request) -> web.Response:
        data, kind = files.get(request.path, (b"", "text/plain"))
        return web.Response(body=data, content_type=kind, status=200 if data else 404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/article"


def pss(pid: int) -> int:
    """The tree's proportional set size, in bytes."""
    total = 0
    for member in (pid, *descendants(pid)):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
    return total


async def one_run(stack: Stack, url: str, root: Path, index: int) -> dict[str, float]:
    data = root / f"data{index}"
    daemon = await stack.start_daemon(data, {"PDF_TIMEOUT_SECONDS": "60"})
    figures: dict[str, float] = {}
    peak_pss = 0
    try:
        await asyncio.sleep(1.0)  # the start-up chores settle
        idle = Sampler(daemon.pid, 0.05).take()
        figures["idle_rss_mb"] = (idle.rss if idle else 0) / MB
        async with Sampler(daemon.pid, 0.05) as sampler:
            for label in ("cold", "warm"):
                mark = stack.api.mark()
                started = time.monotonic()
                stack.api.push_message(USER + index, f"/pdf {url}")
                waiting = asyncio.ensure_future(
                    stack.call_seen(is_upload_to(USER + index), 120, after=mark)
                )
                while not waiting.done():
                    peak_pss = max(peak_pss, pss(daemon.pid))
                    await asyncio.sleep(0.1)
                call, seen = await waiting
                figures[f"{label}_s"] = seen - started
                [document] = call.files.values()
                figures["pdf_kb"] = document.size / 1024
        figures["peak_rss_mb"] = sampler.peak_rss / MB
        figures["peak_pss_mb"] = peak_pss / MB
        figures["daemon_peak_mb"] = max(s.daemon_hwm for _, s in sampler.samples) / MB
    finally:
        await daemon.stop()
    return figures


async def main() -> None:
    runner, url = await serve()
    runs: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with Stack(Path(tmp)) as stack:
                for index in range(RUNS):
                    progress(f"run {index + 1}/{RUNS}")
                    runs.append(await one_run(stack, url, Path(tmp), index))
    finally:
        await runner.cleanup()
    keys = list(runs[0])
    median = {key: statistics.median(run[key] for run in runs) for key in keys}
    spread = {key: (min(run[key] for run in runs), max(run[key] for run in runs)) for key in keys}
    info = machine()
    lines = [
        f"# /pdf on a typical article ({now()})",
        "",
        machine_line(info),
        "",
        "| figure | median | min | max |",
        "|---|---|---|---|",
        *(
            f"| {key} | {median[key]:.2f} | {spread[key][0]:.2f} | {spread[key][1]:.2f} |"
            for key in keys
        ),
    ]
    write("pdf", {"machine": info, "runs": runs, "median": median}, "\n".join(lines) + "\n")
    say("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
