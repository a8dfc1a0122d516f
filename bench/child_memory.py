"""`make bench-children`: what each child process needs, so that CHILD_MEMORY_MB fits them.

Media is made with ffmpeg in a temporary folder (a 10 s 1080p H.264 + AAC mkv, a 2 s 4K H.264
mp4, the same as MPEG-TS, 8192 x 8192 frames, an mkv of 500 streams, a 6000 x 4000 JPEG) and
every run the bot (or yt-dlp) makes of it is started the way the daemon starts it: through
the wrappers bot/children writes, with CHILD_MEMORY_MB=300. For each run: its peak resident
memory (VmHWM), its peak data segment (VmData: what RLIMIT_DATA counts) and address space
(VmPeak: what RLIMIT_AS would count), the seconds, how it ended, and, for ffmpeg and ffprobe,
the smallest RLIMIT_DATA and RLIMIT_AS it succeeds under (found by bisection, 4 MB steps).
"Before" rows run the commands the bot used before issue 26, without a wrapper.

deno runs yt-dlp's challenge solver (yt-dlp-ejs, as yt-dlp builds its input) on a synthetic
2.8 MB "player" (functions, objects and string arrays, the size of YouTube's base.js: the real
one cannot be fetched here), and a trivial script. Results: bench/results/child_memory.{json,md}.
"""

from __future__ import annotations

import json
import random
import subprocess
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.report import machine, machine_line, now, progress, say, write
from bot.children.wrappers import install
from tests.fakes.media_files import make_huge_frames, make_many_streams, make_video

CEILING_MB = 300
MB = 1024 * 1024
POLL_S = 0.002
STEP_MB = 4
SCALE = "scale=320:320:force_original_aspect_ratio=decrease"
DENO_RUN = [
    *("run", "--ext=js", "--no-code-cache", "--no-prompt", "--no-remote", "--no-lock"),
    *("--node-modules-dir=none", "--no-config", "--no-npm", "--cached-only", "-"),
]


@dataclass
class Row:
    name: str
    what: str
    status: int
    seconds: float
    rss_mb: float
    data_mb: float
    vm_mb: float
    min_data_mb: float | None = None
    min_as_mb: float | None = None


def watch(args: list[str], stdin: bytes | None = None) -> tuple[int, float, dict[str, int]]:
    """Run `args` to its end; its exit status, seconds, and peak VmHWM/VmData/VmPeak (kB) of
    the process and its descendants (a wrapper's program is its child)."""
    began = time.monotonic()
    process = subprocess.Popen(
        args,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if stdin is not None and process.stdin is not None:
        process.stdin.write(stdin)
        process.stdin.close()
    peaks = {"VmHWM": 0, "VmData": 0, "VmPeak": 0}
    while process.poll() is None:
        for pid in [process.pid, *_children(process.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    key, _, value = line.partition(":")
                    if key in peaks:
                        peaks[key] = max(peaks[key], int(value.split()[0]))
            except (OSError, ValueError):
                continue
        time.sleep(POLL_S)
    return process.returncode, time.monotonic() - began, peaks


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def smallest(args: list[str], kind: str) -> float | None:
    """The smallest limit (MB) of `kind` (data, as) under which `args` succeeds."""

    def ok(mb: int) -> bool:
        limited = ["prlimit", f"--{kind}={mb * MB}", "--", *args]
        return (
            subprocess.run(limited, capture_output=True, timeout=120, check=False).returncode == 0
        )

    low, high = 0, 2048
    if not ok(high):
        return None
    while high - low > STEP_MB:
        middle = (low + high) // 2
        if ok(middle):
            high = middle
        else:
            low = middle
    return float(high)


def media(folder: Path) -> dict[str, Path]:
    progress("making media…")
    hd = make_video(folder / "hd.mkv", 10, 1920, 1080)
    uhd = make_video(folder / "uhd.mp4", 2, 3840, 2160)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(uhd), "-c", "copy", str(folder / "uhd.ts")],
        check=True,
    )
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=6000x4000"),
            *("-frames:v", "1", str(folder / "big.jpg")),
        ],
        check=True,
    )
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(hd),
            "-map",
            "0:a",
            "-c",
            "copy",
            str(folder / "a.m4a"),
        ],
        check=True,
    )
    return {
        "hd": hd,
        "uhd": uhd,
        "ts": folder / "uhd.ts",
        "jpg": folder / "big.jpg",
        "m4a": folder / "a.m4a",
        "huge": make_huge_frames(folder / "huge.mp4"),
        "streams": make_many_streams(folder / "streams.mkv"),
    }


def ffmpeg_cases(bin_dir: Path, m: dict[str, Path], out: Path) -> list[tuple[str, str, list[str]]]:
    ff, probe = str(bin_dir / "ffmpeg"), str(bin_dir / "ffprobe")
    show = ["-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    one = ["-threads", "1", "-filter_threads", "1", "-max_pixels", str(4096 * 2304)]
    thumb = ["-frames:v", "1", "-vf", SCALE, "-q:v", "4", "-f", "mjpeg", str(out / "t.jpg")]
    return [
        (
            "probe_1080p",
            "ffprobe of the 1080p mkv (no frame decoded)",
            [probe, *show, "-skip_frame", "all", str(m["hd"])],
        ),
        (
            "probe_ts_4k",
            "ffprobe of the 4K MPEG-TS, one frame decoded for its size",
            [probe, *show, "-max_pixels", str(4096 * 2304), "-threads", "1", str(m["ts"])],
        ),
        (
            "probe_8192",
            "ffprobe of the 8192 x 8192 mp4 (no frame decoded)",
            [probe, *show, "-skip_frame", "all", str(m["huge"])],
        ),
        (
            "probe_8192_before",
            "the same, as before issue 26 (a frame decoded)",
            ["ffprobe", *show, str(m["huge"])],
        ),
        (
            "probe_500_streams",
            "ffprobe of the mkv of 500 streams (fails at its 64 MB)",
            [probe, *show, "-skip_frame", "all", str(m["streams"])],
        ),
        (
            "remux_1080p",
            "the remux: 1080p H.264 + AAC mkv into a faststart mp4 (no frame decoded)",
            [
                ff,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-skip_frame:v",
                "all",
                "-i",
                str(m["hd"]),
                "-map",
                "0:0",
                "-map",
                "0:1",
                "-c",
                "copy",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
                str(out / "r.mp4"),
            ],
        ),
        (
            "hls_fixup",
            "yt-dlp's HLS fix-up of a 4K MPEG-TS (FFmpegFixupM3u8PP)",
            [
                ff,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-i",
                str(m["ts"]),
                "-map",
                "0",
                "-dn",
                "-ignore_unknown",
                "-c",
                "copy",
                "-f",
                "mp4",
                "-bsf:a",
                "aac_adtstoasc",
                "-movflags",
                "+faststart",
                str(out / "f.mp4"),
            ],
        ),
        (
            "merge",
            "yt-dlp's merge of a 1080p video and its sound",
            [
                ff,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-i",
                str(m["hd"]),
                "-i",
                str(m["m4a"]),
                "-c",
                "copy",
                "-map",
                "0:v:0",
                "-map",
                "1:a:0",
                "-movflags",
                "+faststart",
                str(out / "m.mp4"),
            ],
        ),
        (
            "audio_aac",
            "the audio step: 10 s of sound encoded to AAC",
            [
                ff,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-i",
                str(m["hd"]),
                "-map",
                "0:1",
                "-c:a",
                "aac",
                "-b:a",
                "160k",
                "-f",
                "ipod",
                str(out / "a2.m4a"),
            ],
        ),
        (
            "thumb_1080p",
            "a thumbnail of the 1080p video (one thread)",
            [ff, "-nostdin", "-v", "error", "-y", *one, "-ss", "1.00", "-i", str(m["hd"]), *thumb],
        ),
        (
            "thumb_4k",
            "a thumbnail of the 4K video (one thread)",
            [
                ff,
                "-nostdin",
                "-v",
                "error",
                "-y",
                *one,
                "-ss",
                "0.67",
                "-i",
                str(m["uhd"]),
                *thumb,
            ],
        ),
        (
            "thumb_4k_before",
            "the same, as before issue 26 (every thread)",
            [
                "ffmpeg",
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-ss",
                "0.67",
                "-i",
                str(m["uhd"]),
                *thumb,
            ],
        ),
        (
            "thumb_8192_before",
            "a thumbnail of 8192 x 8192 frames, before (now: none)",
            [
                "ffmpeg",
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-ss",
                "0.67",
                "-i",
                str(m["huge"]),
                *thumb,
            ],
        ),
        (
            "cover_6000x4000",
            "a 6000 x 4000 JPEG cover at half size (-lowres 1)",
            [
                ff,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-threads",
                "1",
                "-filter_threads",
                "1",
                "-max_pixels",
                "24000000",
                "-lowres",
                "1",
                "-skip_frame",
                "nokey",
                "-i",
                str(m["jpg"]),
                *thumb,
            ],
        ),
    ]


def player(size: int = 2_800_000) -> str:
    """A synthetic minified "player" of `size` characters."""
    rnd = random.Random(7)
    parts = ["var _yt_player={};(function(g){var window=this;"]
    n = total = 0
    while total < size:
        n += 1
        letters = "".join(rnd.choice("abcdefghij") for _ in range(20))
        numbers = ",".join(str(rnd.randint(0, 99)) for _ in range(12))
        words = '","'.join("".join(rnd.choice("klmnopqrst") for _ in range(8)) for _ in range(6))
        pieces = (
            f'var f{n}=function(a,b){{a=a.split("");var c=[{numbers}];'
            'for(var d=0;d<c.length;d++){a.push(a[c[d]%a.length])};return a.join("")+b};',
            f'g.K{n}={{x:{n},y:"{letters}",z:function(q){{return q*{n}+this.x}},w:[1,2,3,{n}]}};',
            f"function h{n}(a){{if(a&&a.length>{n % 50}){{return a.slice({n % 7}).reverse()}}"
            "else{try{return JSON.parse(a)}catch(e){return null}}}",
            f'var s{n}=["{words}"];',
        )
        piece = pieces[n % 4]
        parts.append(piece)
        total += len(piece)
    parts.append("})(_yt_player);")
    return "".join(parts)


def solver_input() -> bytes:
    """What yt-dlp feeds deno for one n challenge (its _construct_stdin)."""
    import yt_dlp_ejs.yt.solver as solver

    data = {
        "type": "player",
        "player": player(),
        "requests": [{"type": "n", "challenges": ["abcdefgh"]}],
        "output_preprocessed": True,
    }
    return (
        f"{solver.lib()}\nObject.assign(globalThis, lib);\n{solver.core()}\n"
        f"console.log(JSON.stringify(jsc({json.dumps(data)})));\n"
    ).encode()


def deno_cases(bin_dir: Path) -> list[tuple[str, str, list[str], bytes]]:
    deno = bin_dir / "deno"
    if not deno.exists():
        return []
    real = str(Path(sysconfig.get_path("scripts")) / "deno")  # what the wrapper runs
    solve, trivial = solver_input(), b"console.log(JSON.stringify({ok: 1}));\n"
    raw = [real, *DENO_RUN]
    return [
        (
            "deno_trivial",
            "deno, a trivial script, through its wrapper",
            [str(deno), *DENO_RUN],
            trivial,
        ),
        (
            "deno_solve_v8_default",
            "deno solving a challenge on a 2.8 MB player, V8's defaults, no wrapper",
            raw,
            solve,
        ),
        (
            "deno_solve_semi2",
            "the same, young generation at 2 MB, no wrapper",
            ["env", "DENO_V8_FLAGS=--max-semi-space-size=2", *raw],
            solve,
        ),
        (
            "deno_solve_wrapped",
            "the same through its wrapper (CHILD_MEMORY_MB=300)",
            [str(deno), *DENO_RUN],
            solve,
        ),
        (
            "deno_solve_wrapped_200",
            "the same through a wrapper at 200 MB: ended past it",
            [str(bin_dir / "deno200"), *DENO_RUN],
            solve,
        ),
    ]


def run() -> dict[str, object]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tgfetch-children-") as scratch:
        folder = Path(scratch)
        bin_dir = install(folder / "bin", CEILING_MB).folder
        if (small := install(folder / "bin200", 200)).deno is not None:
            (bin_dir / "deno200").symlink_to(small.deno)
        made = media(folder)
        for name, what, args in ffmpeg_cases(bin_dir, made, folder):
            progress(f"{name}…")
            status, seconds, peaks = watch(args)
            row = Row(
                name,
                what,
                status,
                seconds,
                peaks["VmHWM"] / 1024,
                peaks["VmData"] / 1024,
                peaks["VmPeak"] / 1024,
            )
            if Path(args[0]).parent == bin_dir or not args[0].startswith("/"):
                real = ["ffmpeg" if "ffmpeg" in args[0] else "ffprobe", *args[1:]]
                row.min_data_mb = smallest(real, "data")
                row.min_as_mb = smallest(real, "as")
            rows.append(row)
        for name, what, args, stdin in deno_cases(bin_dir):
            for _ in range(3):
                progress(f"{name}…")
                status, seconds, peaks = watch(args, stdin)
                rows.append(
                    Row(
                        name,
                        what,
                        status,
                        seconds,
                        peaks["VmHWM"] / 1024,
                        peaks["VmData"] / 1024,
                        peaks["VmPeak"] / 1024,
                    )
                )
    return {
        "measured_at": now(),
        "machine": machine(),
        "ceiling_mb": CEILING_MB,
        "rows": [asdict(r) for r in rows],
    }


def _mb(value: object) -> str:
    return "" if value is None else f"{float(value):.0f}"  # type: ignore[arg-type]


def render(result: dict[str, object]) -> str:
    info, rows = result["machine"], result["rows"]
    assert isinstance(info, dict) and isinstance(rows, list)
    lines = [
        "# What each child needs (issue 26)",
        "",
        f"Measured {result['measured_at']} on {machine_line(info)}; wrappers at "
        f"CHILD_MEMORY_MB={result['ceiling_mb']}.",
        "",
        "| run | exit | seconds | peak RSS MB | peak data MB | address space MB "
        "| smallest RLIMIT_DATA | smallest RLIMIT_AS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| `{r['name']}` | {r['status']} | {r['seconds']:.2f} | {_mb(r['rss_mb'])} "
            f"| {_mb(r['data_mb'])} | {_mb(r['vm_mb'])} | {_mb(r['min_data_mb'])} "
            f"| {_mb(r['min_as_mb'])} |"
        )
    lines += [
        "",
        *(f"- `{n}`: {w}" for n, w in dict((r["name"], r["what"]) for r in rows).items()),
    ]
    return "\n".join(lines)


def main() -> int:
    result = run()
    markdown = render(result)
    json_path, md_path = write("child_memory", result, markdown)
    say(markdown)
    progress(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
