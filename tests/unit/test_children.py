"""Every child under a memory ceiling (bot/children): the ffmpeg wrappers' data limit, the RSS
guard for V8 programs (its /proc watchdog and deadline here; the cgroup path on a fake
cgroupfs), and the daemon itself never limited."""

from __future__ import annotations

import logging
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.children.cgroup import Cgroup, delegated_parent
from bot.children.guard import EXCEEDED, TIMED_OUT, run_bounded
from bot.children.wrappers import (
    PROBE_MEMORY_MB,
    guarded_command,
    install,
    on_path,
    rlimit_script,
    write_guarded,
)
from bot.daemon.children import wrappers_folder, ytdlp_children
from bot.media.prepare import prepare
from bot.model.media import MediaFile, MediaKind
from tests.fakes.media_files import make_huge_frames, make_video

MB = 1024 * 1024
# A Python child that holds `n` MB (touched, so resident), then waits to be ended.
HOG = "import time; b = bytearray({n} << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(30)"
SPAWNS_HOG = (
    "import subprocess, sys; subprocess.run([sys.executable, '-c', {hog!r}])"  # a grandchild
)


def thumbnail(wrapper: Path, video: Path) -> subprocess.CompletedProcess[bytes]:
    """A frame of `video` scaled down, the way the bot made thumbnails before issue 26."""
    args = [str(wrapper), "-nostdin", "-v", "error", "-ss", "0.5", "-i", str(video)]
    args += ["-frames:v", "1", "-vf", "scale=64:64", "-f", "null", "-"]
    return subprocess.run(args, capture_output=True, timeout=60, check=False)


@pytest.fixture
def wrappers(tmp_path: Path) -> Path:
    if not (found := install(tmp_path / "bin", 120)).tools:
        pytest.skip("ffmpeg is not installed")
    assert {"ffmpeg", "ffprobe"} <= set(found.tools)
    return found.folder


def test_ffmpeg_past_the_ceiling_fails_its_run_and_within_it_works(
    wrappers: Path, tmp_path: Path
) -> None:
    small = make_video(tmp_path / "small.mp4", 1, 640, 360)
    huge = make_huge_frames(tmp_path / "huge.mp4", 8192, 1)  # 100 MB a frame, and its copies
    before = resource.getrlimit(resource.RLIMIT_DATA)
    assert thumbnail(wrappers / "ffmpeg", small).returncode == 0
    assert thumbnail(wrappers / "ffmpeg", huge).returncode != 0
    assert thumbnail(Path(shutil.which("ffmpeg") or "ffmpeg"), huge).returncode == 0
    assert resource.getrlimit(resource.RLIMIT_DATA) == before  # only the child was limited


def test_the_wrappers_say_their_ceiling_and_ffprobe_gets_less(wrappers: Path) -> None:
    assert "ulimit -d 122880 " in (wrappers / "ffmpeg").read_text()
    assert f"ulimit -d {min(120, PROBE_MEMORY_MB) * 1024} " in (wrappers / "ffprobe").read_text()
    version = subprocess.run(
        [str(wrappers / "ffprobe"), "-version"], capture_output=True, timeout=30, check=True
    )
    assert version.stdout.startswith(b"ffprobe version")


def test_a_rewrite_changes_the_ceiling_and_the_folder_goes_first_on_path_once(
    tmp_path: Path,
) -> None:
    script = rlimit_script(Path("/usr/bin/ffmpeg"), 300)
    assert "ulimit -d 307200 " in script
    assert "exec '/usr/bin/ffmpeg' \"$@\"" in script
    folder = tmp_path / "bin"
    assert on_path(folder, f"/usr/bin:{folder}:/bin") == f"{folder}:/usr/bin:/bin"


def test_the_guard_ends_a_child_past_its_resident_ceiling() -> None:
    ended = run_bounded(
        [sys.executable, "-c", HOG.format(n=200)], 80 * MB, max_seconds=30, cgroups=False
    )
    assert ended.killed == "memory"
    assert ended.status == EXCEEDED
    assert ended.peak > 80 * MB


def test_the_guard_counts_and_ends_grandchildren_too() -> None:
    hog = HOG.format(n=200)
    ended = run_bounded(
        [sys.executable, "-c", SPAWNS_HOG.format(hog=hog)], 80 * MB, max_seconds=30, cgroups=False
    )
    assert ended.killed == "memory"


def test_the_guard_lets_a_child_within_bounds_finish_and_ends_one_past_its_deadline() -> None:
    done = run_bounded([sys.executable, "-c", "print('ok')"], 200 * MB, cgroups=False)
    assert done == type(done)(0, None, done.peak)
    slow = run_bounded(["sleep", "30"], 200 * MB, max_seconds=0.3, cgroups=False)
    assert slow.killed == "time"
    assert slow.status == TIMED_OUT


def test_a_guarded_wrapper_passes_arguments_and_output_through_and_says_why_it_ended(
    tmp_path: Path,
) -> None:
    echo = write_guarded(tmp_path / "echo", [sys.executable, "-c"], 200)
    out = subprocess.run(
        [str(echo), "import sys; print(sys.argv[1:])", "a b", "c"],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert out.stdout == b"['a b', 'c']\n"
    hog = write_guarded(tmp_path / "hog", [sys.executable, "-c", HOG.format(n=200)], 80)
    ended = subprocess.run([str(hog)], capture_output=True, timeout=30, check=False)
    assert ended.returncode == EXCEEDED
    assert b"passed its memory ceiling of 80 MB" in ended.stderr


def test_guarded_command_runs_the_guard_with_this_python() -> None:
    command = guarded_command(["deno", "run"], 300, max_seconds=60)
    assert command[0] == sys.executable
    assert command[-5:] == ["--max-seconds", "60", "--", "deno", "run"]


def fake_cgroupfs(tmp_path: Path, own: str, handed_down: str) -> Path:
    """A /proc/self with a cgroup2 mount at tmp_path/cg and this process in `own`."""
    proc = tmp_path / "proc"
    proc.mkdir()
    mount = tmp_path / "cg"
    (proc / "mountinfo").write_text(
        "30 23 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        f"31 23 0:27 / {mount} rw,nosuid - cgroup2 cgroup2 rw\n"
    )
    (proc / "cgroup").write_text(f"0::{own}\n")
    parent = (mount / own.lstrip("/")).parent
    parent.mkdir(parents=True)
    (parent / "cgroup.subtree_control").write_text(handed_down)
    return proc


def test_a_delegated_cgroup_takes_the_child_with_memory_max_and_is_removed(
    tmp_path: Path,
) -> None:
    proc = fake_cgroupfs(tmp_path, "/system.slice/tgfetch.service/daemon", "cpu memory pids\n")
    parent = delegated_parent(proc)
    assert parent == tmp_path / "cg/system.slice/tgfetch.service"
    group = Cgroup.make(300 * MB, "tgfetch-guard-1", proc)
    assert group is not None
    assert (group.path / "memory.max").read_text() == str(300 * MB)
    assert not group.exceeded()
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.exceeded()
    for name in ("memory.max", "memory.oom.group", "memory.events"):
        (group.path / name).unlink()  # a real cgroup's files go with it
    group.remove()
    assert not group.path.exists()


@pytest.mark.parametrize(
    ("own", "handed_down"),
    [
        ("/system.slice/tgfetch.service", "memory"),  # its sibling would leave the service
        ("/tgfetch/daemon", "cpu pids"),  # no memory controller handed down
        ("/", "memory"),  # the root: no parent
    ],
)
def test_no_cgroup_where_none_is_delegated(tmp_path: Path, own: str, handed_down: str) -> None:
    if own == "/":
        proc = tmp_path / "proc"
        proc.mkdir()
        (proc / "cgroup").write_text("0::/\n")
        (proc / "mountinfo").write_text(f"31 23 0:27 / {tmp_path} rw - cgroup2 cgroup2 rw\n")
    else:
        proc = fake_cgroupfs(tmp_path, own, handed_down)
    assert delegated_parent(proc) is None
    assert Cgroup.make(300 * MB, "x", proc) is None


async def test_a_thumbnail_past_the_ceiling_fails_its_step_and_the_video_goes_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # ffmpeg held to 50 MB of data: it starts, but one 1080p frame does not fit (63 MB).
    video = make_video(tmp_path / "clip.mp4", 1, 1920, 1080)
    folder = install(tmp_path / "bin", 50).folder
    monkeypatch.setenv("PATH", on_path(folder, os.environ.get("PATH")))
    caplog.set_level(logging.INFO)
    prepared = await prepare(MediaFile(video))
    assert prepared.info.kind is MediaKind.VIDEO
    assert prepared.info.thumbnail is None
    assert "step=thumbnail tool=ffmpeg" in caplog.text


def test_ytdlp_starts_the_wrapped_ffmpeg_and_finds_deno_through_its_guard(tmp_path: Path) -> None:
    import yt_dlp
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    children = install(wrappers_folder(tmp_path).resolve(), 300)
    params = ytdlp_children(tmp_path)
    with yt_dlp.YoutubeDL({**params, "quiet": True}) as ydl:
        assert FFmpegPostProcessor(ydl).executable == str(children.folder / "ffmpeg")
        if children.deno is None:
            pytest.skip("deno is not installed")
        runtime = ydl._js_runtimes["deno"].info  # what yt-dlp runs, and the version it saw
        assert runtime.path == str(children.deno)
        assert runtime.supported
