"""The soak's verdict: outcomes, memory trend, descriptors and threads, orphans, log errors."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.report import machine_line
from bench.soak_users import Outcome, Request
from bench.stats import percentile, slope
from tests.e2e.procfs import MB, TreeSample

WARMUP_SHARE, WARMUP_MIN_S = 0.2, 10.0
SERIES_EVERY_S = 10.0


@dataclass
class Segment:
    """One daemon process of the soak: its samples and its readings at start and end."""

    name: str
    began: float
    load_ended: float = 0.0
    samples: list[tuple[float, TreeSample]] = field(default_factory=list)
    first: TreeSample | None = None
    last: TreeSample | None = None
    exit_code: int | None = None

    @property
    def warm_from(self) -> float:
        """When the warm-up ends: thread pools, caches and the allocator have grown by then."""
        return self.began + max(WARMUP_MIN_S, (self.load_ended - self.began) * WARMUP_SHARE)

    @property
    def warm(self) -> TreeSample | None:
        """The first reading after the warm-up."""
        return next((s for t, s in self.samples if t >= self.warm_from), None)

    def growth_mb_per_h(self) -> float | None:
        """Least-squares slope of the daemon's own RSS under load, after its warm-up.

        Children (ffprobe, ffmpeg) come and go within seconds; they would only add noise.
        """
        points = [
            (t, s.daemon_rss / MB)
            for t, s in self.samples
            if self.warm_from <= t <= self.load_ended
        ]
        if len(points) < 5:
            return None
        return slope(points) * 3600

    def series(self, origin: float) -> list[tuple[float, float]]:
        """(seconds since `origin`, the daemon's own RSS in MB) every SERIES_EVERY_S."""
        points: list[tuple[float, float]] = []
        for t, s in self.samples:
            if not points or t - origin >= points[-1][0] + SERIES_EVERY_S:
                points.append((round(t - origin, 1), round(s.daemon_rss / MB, 1)))
        return points


def summarize(
    requests: list[Request], segments: list[Segment], extra: dict[str, object]
) -> dict[str, object]:
    """Everything the report says, as JSON-ready values."""
    outcomes = Counter(r.outcome.value if r.outcome else Outcome.LOST.value for r in requests)
    links = [r for r in requests if r.action.kind.is_link]
    unanswered = [
        r for r in requests if not r.action.kind.is_link and r.outcome in (None, Outcome.LOST)
    ]
    never = [r for r in links if r.outcome in (None, Outcome.LOST)]
    overwritten = [r for r in links if r.overwritten is not None]
    lost = never + overwritten
    delivered = [r for r in links if r.outcome is Outcome.DELIVERED]
    samples = [s for seg in segments for _, s in seg.samples]
    growth = [g for g in (seg.growth_mb_per_h() for seg in segments) if g is not None]
    first, warm, last = segments[0].first, segments[0].warm, segments[-1].last
    return {
        "requests": len(requests),
        "links": len(links),
        "delivered": len(delivered),
        "failed_with_message": outcomes[Outcome.FAILED.value],
        "cancelled": outcomes[Outcome.CANCELLED.value],
        "refused_with_message": outcomes[Outcome.REFUSED.value],
        "error_replies": outcomes[Outcome.ERROR_REPLY.value],
        "answered_commands_and_text": outcomes[Outcome.ANSWERED.value],
        "unanswered_commands_and_text": len(unanswered),
        "lost": len(lost),
        "lost_never_answered": len(never),
        "lost_answer_overwritten": len(overwritten),
        "corrupt_deliveries": sum(r.intact is False for r in delivered),
        "resent_from_cache": sum(r.intact is None for r in delivered),
        "stray_finals": sum(len(r.strays) for r in requests),
        "cancel_pressed": sum(r.cancel_pressed for r in requests),
        "by_kind": _by_kind(requests),
        "delivered_p50_s": _pct(delivered, 50),
        "delivered_p95_s": _pct(delivered, 95),
        "max_rss_mb": round(max((max(s.rss, s.daemon_hwm) for s in samples), default=0) / MB, 1),
        "max_daemon_rss_mb": round(max((s.daemon_hwm for s in samples), default=0) / MB, 1),
        "rss_growth_mb_per_h": round(max(growth), 1) if growth else None,
        "rss_growth_by_process_mb_per_h": [
            None if (g := seg.growth_mb_per_h()) is None else round(g, 1) for seg in segments
        ],
        "fds_start": first.fds if first else None,
        "fds_warm": warm.fds if warm else None,
        "fds_end": last.fds if last else None,
        "threads_start": first.threads if first else None,
        "threads_warm": warm.threads if warm else None,
        "threads_end": last.threads if last else None,
        "processes": [_segment(seg) for seg in segments],
        "daemon_rss_series_mb": [seg.series(segments[0].began) for seg in segments],
        "lost_requests": [_describe(r) for r in lost[:20]],
        "unanswered_requests": [_describe(r) for r in unanswered[:20]],
        **extra,
    }


def _by_kind(requests: list[Request]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = {}
    for request in requests:
        outcome = request.outcome.value if request.outcome else Outcome.LOST.value
        table.setdefault(request.action.kind.value, Counter())[outcome] += 1
    return {kind: dict(counts) for kind, counts in sorted(table.items())}


def _pct(requests: list[Request], pct: float) -> float | None:
    seconds = [r.seconds for r in requests if r.seconds is not None]
    return round(percentile(seconds, pct), 2) if seconds else None


def _segment(seg: Segment) -> dict[str, object]:
    def reading(s: TreeSample | None) -> dict[str, object] | None:
        if s is None:
            return None
        return {"rss_mb": round(s.rss / MB, 1), "fds": s.fds, "threads": s.threads}

    return {
        "name": seg.name,
        "samples": len(seg.samples),
        "start": reading(seg.first),
        "warm": reading(seg.warm),
        "end": reading(seg.last),
        "exit_code": seg.exit_code,
    }


def _describe(request: Request) -> str:
    text = f"user={request.user} kind={request.action.kind.value} text={request.action.text}"
    if request.overwritten is not None:
        text += (
            f" said={request.outcome} in message {request.final_message},"
            f" which at the end says {request.overwritten!r}"
        )
    return text


def _flood_rows(result: dict[str, object]) -> list[tuple[str, str]]:
    """What `--flood` adds: Telegram's limits met, and the daemon's RSS over the run."""
    if "flood_violations" not in result:
        return []
    return [
        (
            "**calls into a running retry_after**",
            f"**{result['flood_violations']}** (429s answered: {result['flood_429s']}, "
            f"of {result['flood_counted_calls']} chat calls)",
        ),
        (
            "daemon RSS after the first minute → at the end",
            f"{result['daemon_rss_after_first_minute_mb']} MB → "
            f"{result['daemon_rss_at_end_mb']} MB "
            f"(**{result['daemon_rss_end_minus_first_minute_mb']} MB**)",
        ),
    ]


def render(result: dict[str, object]) -> str:
    """The Markdown report."""
    info = result["machine"]
    assert isinstance(info, dict)
    rows = [
        ("duration (request loop)", f"{result['duration_s']} s, drain {result['drain_s']} s"),
        ("users", str(result["users"])),
        ("requests (links)", f"{result['requests']} ({result['links']})"),
        ("delivered", str(result["delivered"])),
        ("failed with a message", str(result["failed_with_message"])),
        ("cancelled (Cancel pressed)", f"{result['cancelled']} ({result['cancel_pressed']})"),
        ("refused with a message", str(result["refused_with_message"])),
        ("error replies", str(result["error_replies"])),
        ("commands/text answered", str(result["answered_commands_and_text"])),
        ("commands/text unanswered", str(result["unanswered_commands_and_text"])),
        (
            "**lost** (never answered + answer overwritten by the end)",
            f"**{result['lost']}** ({result['lost_never_answered']}"
            f" + {result['lost_answer_overwritten']})",
        ),
        ("**unanswered links** (never answered)", f"**{result['lost_never_answered']}**"),
        ("**duplicate deliveries** (a file sent twice)", f"**{result['duplicate_deliveries']}**"),
        ("corrupt deliveries", str(result["corrupt_deliveries"])),
        ("stray final messages", str(result["stray_finals"])),
        ("Cancel buttons left on ended jobs", str(result["stale_cancel_buttons"])),
        ("delivered p50 / p95", f"{result['delivered_p50_s']} s / {result['delivered_p95_s']} s"),
        ("Bot API calls failed on purpose", f"{result['injected_failures']}"),
        (
            "answers lost on purpose (of sends; of uploads)",
            f"{result['answers_lost']} ({result['answers_lost_of_sends']};"
            f" {result['answers_lost_of_uploads']})",
        ),
        (
            "max RSS: daemon + children (daemon alone)",
            f"{result['max_rss_mb']} MB ({result['max_daemon_rss_mb']} MB)",
        ),
        (
            "RSS growth (per process)",
            f"{result['rss_growth_by_process_mb_per_h']} MB/h",
        ),
        (
            "open fds: start → after warm-up → end",
            f"{result['fds_start']} → {result['fds_warm']} → {result['fds_end']}",
        ),
        (
            "threads: start → after warm-up → end",
            f"{result['threads_start']} → {result['threads_warm']} → {result['threads_end']}",
        ),
        ("restart (SIGTERM → polling again)", f"{result['restart_s']} s"),
        *_flood_rows(result),
        ("exit codes (SIGTERM, final stop)", str(result["exit_codes"])),
        ("**orphaned files under jobs/**", f"**{result['orphans']}**"),
        (
            "jobs by state at the end (all final)",
            f"{result['jobs_by_state']} ({result['jobs_idle_at_end']})",
        ),
        ("ERROR lines / tracebacks in the log", str(result["log_errors"])),
        ("verdict", str(result["verdict"])),
    ]
    lines = [
        "# tgfetch soak",
        "",
        f"Measured {result['measured_at']} on {machine_line(info)}.",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "Outcomes by kind of request:",
        "",
        "| kind | outcomes |",
        "| --- | --- |",
    ]
    by_kind = result["by_kind"]
    assert isinstance(by_kind, dict)
    lines += [f"| {kind} | {counts} |" for kind, counts in by_kind.items()]
    for title, key in (
        ("Lost links (first 20)", "lost_requests"),
        ("Files delivered twice (first 10)", "duplicate_examples"),
        ("Commands or text never answered (first 20)", "unanswered_requests"),
        ("Cancel buttons left on ended jobs (first 10)", "stale_cancel_examples"),
        ("Orphaned paths under DATA_DIR (first 20)", "orphan_paths"),
        ("ERROR lines in the daemons' logs (first 30)", "log_error_lines"),
    ):
        items = result.get(key)
        if isinstance(items, list) and items:
            lines += ["", f"{title}:", "", *(f"- `{item}`" for item in items)]
    return "\n".join(lines)
