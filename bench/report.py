"""Where results go: the machine they were measured on, JSON for tools, a Markdown table."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PACKAGES = ("python-telegram-bot", "yt-dlp", "httpx", "aiohttp")


@dataclass(frozen=True, slots=True)
class Figure:
    """How one figure is shown: its unit, a goal if it has one, and what it means."""

    name: str
    unit: str
    meaning: str
    goal: str = ""
    digits: int = 1


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "missing"
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "commit": _commit(),
    }


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def table(figures: Iterable[Figure], values: dict[str, float]) -> str:
    """A Markdown table of the figures that were measured."""
    lines = ["| figure | value | goal | what it is |", "| --- | ---: | --- | --- |"]
    for figure in figures:
        if figure.name not in values:
            continue
        value = f"{values[figure.name]:.{figure.digits}f} {figure.unit}".strip()
        lines.append(f"| `{figure.name}` | {value} | {figure.goal} | {figure.meaning} |")
    return "\n".join(lines)


def machine_line(info: dict[str, object]) -> str:
    return (
        f"{info['nproc']} cores ({info['cpu']}), {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}, Python {info['python']}, commit {info['commit']}"
    )


def write(stem: str, payload: dict[str, object], markdown: str) -> tuple[Path, Path]:
    """Write `<stem>.json` and `<stem>.md` under bench/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path, md_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    md_path.write_text(markdown + "\n")
    return json_path, md_path


def say(text: str) -> None:
    print(text, flush=True)


def progress(text: str) -> None:
    """A line on stderr while the run goes on (stdout carries only the table)."""
    print(text, file=sys.stderr, flush=True)
