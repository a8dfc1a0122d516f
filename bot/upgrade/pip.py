"""pip, run as a child process with a deadline: what the package index has, and an install of
yt-dlp with its extras into a folder of its own (`--target`), never into the read-only venv."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

REQUIREMENT = "yt-dlp[default,deno]"
LOOKUP_TIMEOUT_S = 120.0
INSTALL_TIMEOUT_S = 900.0
_QUIET = ["--disable-pip-version-check", "--no-input", "--quiet"]


class PipError(Exception):
    """pip failed or ran out of time; the message is its last words."""


def _run(args: list[str], timeout: float) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-m", "pip", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PipError(f"pip did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-2:])[:300]
        raise PipError(tail or f"pip exited with {done.returncode}")
    return done.stdout


LOOKUP = ["install", *_QUIET, "--dry-run", "--ignore-installed", "--no-deps", "--report", "-"]


def newest_version() -> str:
    """The newest yt-dlp the configured package index has (pip's own resolution, no download
    of anything but its metadata)."""
    return _reported(_run([*LOOKUP, "yt-dlp"], LOOKUP_TIMEOUT_S))


async def newest_version_async() -> str:
    """`newest_version` for the event loop: pip as an asyncio child, killed at its deadline."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pip",
        *LOOKUP,
        "yt-dlp",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(LOOKUP_TIMEOUT_S):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PipError(f"pip did not finish within {LOOKUP_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        raise PipError(" ".join(err.decode(errors="replace").strip().splitlines()[-2:])[:300])
    return _reported(out.decode(errors="replace"))


def _reported(out: str) -> str:
    try:
        report = json.loads(out)
        return str(report["install"][0]["metadata"]["version"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise PipError("pip's report named no yt-dlp") from None


def install(version: str, target: Path) -> None:
    """yt-dlp `version` with its default and deno extras (and everything they need) into
    `target`."""
    into = ["--no-warn-script-location", "--target", str(target)]
    _run(["install", *_QUIET, *into, f"{REQUIREMENT}=={version}"], INSTALL_TIMEOUT_S)
