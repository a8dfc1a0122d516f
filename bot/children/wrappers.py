"""The executables the bot's children are started through, each applying CHILD_MEMORY_MB in the
child alone (the daemon itself is never limited).

Written at start-up into one folder, which goes first on the daemon's PATH, so that ffmpeg and
ffprobe are these wrappers for everything that starts them by name: the bot's own runs
(bot/media) and yt-dlp's merges and HLS fix-ups alike (yt-dlp is also given the folder as
`ffmpeg_location`, and the deno wrapper as its `js_runtimes` path).

- ffmpeg, ffprobe: a shell script that sets RLIMIT_DATA (heap, thread stacks, decoded frames)
  and execs the real program (ffprobe: at most PROBE_MEMORY_MB of it). Not RLIMIT_AS: Debian's
  ffmpeg maps 265 MB of libraries before it reads a byte, so an address-space ceiling of 300 MB
  leaves it almost nothing (measured in docs/BENCHMARKS.md). A child past the ceiling fails
  its allocation and exits with an error.
- deno (and any V8 program, `write_guarded`): a script that runs guard.py, which bounds the
  program by resident memory (a cgroup, else a /proc watchdog) and by time.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
FFMPEG_TOOLS = ("ffmpeg", "ffprobe")
ROOT = Path(__file__).resolve().parents[2]  # the checkout: guard.py is imported from here
# One challenge takes deno a second or two; past this it is stuck, and yt-dlp waits without end.
DENO_MAX_SECONDS = 60.0
# V8's young generation at 2 MB instead of its default 16: solving a challenge on a 2.8 MB
# player then peaks at 260 MB resident instead of 294-315 MB, as fast (docs/BENCHMARKS.md).
# A default: DENO_V8_FLAGS set in the environment wins.
DENO_DEFAULTS = (("DENO_V8_FLAGS", "--max-semi-space-size=2"),)
# ffprobe decodes at most one frame (bot/media/probe.py): every ordinary file probes within
# 48 MB of data (H.264, HEVC, VP9, AV1, 4K MPEG-TS); what grows past that is a decoder opened
# per stream (1.5 MB each for H.264: an mkv of 500 streams wants 590 MB). Held to this, such a
# file fails its probe at once and goes as a document, with ffprobe under 80 MB resident.
PROBE_MEMORY_MB = 64


@dataclass(frozen=True, slots=True)
class Children:
    """Where the bot's children start from: the wrappers' folder, and what is in it."""

    folder: Path
    ceiling_mb: int
    tools: tuple[str, ...]  # the wrapped programs: ffmpeg, ffprobe, deno (those found)

    @property
    def deno(self) -> Path | None:
        return self.folder / "deno" if "deno" in self.tools else None


def install(
    folder: Path,
    ceiling_mb: int,
    *,
    search_path: str | None = None,
    deno: Path | None = None,
) -> Children:
    """Write the wrappers for the programs found (on `search_path`, else PATH; deno also beside
    this Python) into `folder`. Rewritten at every start: the ceiling may have changed. `deno`
    names the JavaScript runtime to wrap where the caller knows it (a staged yt-dlp's own)."""
    folder.mkdir(parents=True, exist_ok=True)
    found: list[str] = []
    for name in FFMPEG_TOOLS:
        real = _which(name, folder, search_path)
        if real is not None:
            mb = min(ceiling_mb, PROBE_MEMORY_MB) if name == "ffprobe" else ceiling_mb
            _write(folder / name, rlimit_script(real, mb))
            found.append(name)
    deno = deno or _deno(folder, search_path)
    if deno is not None:
        write_guarded(
            folder / "deno",
            [str(deno)],
            ceiling_mb,
            max_seconds=DENO_MAX_SECONDS,
            defaults=DENO_DEFAULTS,
        )
        found.append("deno")
    return Children(folder, ceiling_mb, tuple(found))


def on_path(folder: Path, path: str | None) -> str:
    """`path` with `folder` first (once)."""
    parts = [p for p in (path or os.defpath).split(os.pathsep) if p and Path(p) != folder]
    return os.pathsep.join([str(folder), *parts])


def rlimit_script(real: Path, ceiling_mb: int) -> str:
    """A shell script that runs `real` with its data segment held to `ceiling_mb`."""
    kb = _data_limit(ceiling_mb * MB) // 1024
    return (
        "#!/bin/sh\n"
        f"# Written by tgfetch at start-up: {real.name} with at most CHILD_MEMORY_MB="
        f"{ceiling_mb} of data\n# (heap, thread stacks, decoded frames) and no core dump.\n"
        f'ulimit -d {kb} && ulimit -c 0 && exec {_quote(str(real))} "$@"\n'
        f'echo "tgfetch: the memory ceiling could not be set for {real.name}" >&2\n'
        "exit 126\n"
    )


def guarded_command(
    argv: Sequence[str],
    ceiling_mb: int,
    *,
    max_seconds: float | None = None,
    pass_fds: Sequence[int] = (),
) -> list[str]:
    """`argv` run under guard.py: at most `ceiling_mb` resident, within `max_seconds`. For a
    program the bot starts itself (asyncio.create_subprocess_exec(*guarded_command(...))).
    `pass_fds`: descriptors the program must get from whoever started the wrapper."""
    limits = ["--max-mb", str(ceiling_mb)]
    if max_seconds is not None:
        limits += ["--max-seconds", f"{max_seconds:g}"]
    if pass_fds:
        limits += ["--pass-fds", ",".join(str(fd) for fd in pass_fds)]
    return [sys.executable, "-I", "-c", _GUARD_MAIN % str(ROOT), *limits, "--", *argv]


def write_guarded(
    path: Path,
    argv: Sequence[str],
    ceiling_mb: int,
    *,
    max_seconds: float | None = None,
    defaults: Sequence[tuple[str, str]] = (),
    pass_fds: Sequence[int] = (),
) -> Path:
    """An executable at `path` that runs `argv` plus its own arguments under guard.py: for a
    program a library starts (yt-dlp's deno, a browser driver given an executable path).
    `defaults` are environment variables it sets unless the environment has them already."""
    guarded = guarded_command(argv, ceiling_mb, max_seconds=max_seconds, pass_fds=pass_fds)
    exports = "".join(f'export {name}="${{{name}:-{value}}}"\n' for name, value in defaults)
    _write(
        path,
        "#!/bin/sh\n"
        f"# Written by tgfetch at start-up: {Path(argv[0]).name} with at most CHILD_MEMORY_MB="
        f"{ceiling_mb} resident.\n"
        f"{exports}"
        f'exec {" ".join(_quote(a) for a in guarded)} "$@"\n',
    )
    return path


_GUARD_MAIN = (
    "import sys; sys.path.insert(0, %r); from bot.children.guard import main; sys.exit(main())"
)


def _data_limit(wanted: int) -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


def _which(name: str, folder: Path, search_path: str | None) -> Path | None:
    path = os.environ.get("PATH") if search_path is None else search_path
    others = os.pathsep.join(p for p in (path or "").split(os.pathsep) if p and Path(p) != folder)
    found = shutil.which(name, path=others)
    return Path(found).resolve() if found else None


def _deno(folder: Path, search_path: str | None) -> Path | None:
    """deno beside this Python (pip's `deno` package puts it there), else on the path."""
    beside = Path(sysconfig.get_path("scripts")) / "deno"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    return _which("deno", folder, search_path)


def _write(path: Path, text: str) -> None:
    """Replace `path` whole: a child starting meanwhile sees the old script or the new one."""
    partial = path.with_name(f".{path.name}.new")
    partial.write_text(text)
    partial.chmod(0o755)
    partial.replace(path)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"
