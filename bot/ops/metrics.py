"""A small Prometheus registry: labelled counters, one histogram, gauges read at scrape time."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

PREFIX = "tgfetch_"

CounterName = Literal[
    "updates_total",
    "downloads_total",
    "bytes_delivered_total",
    "bot_api_errors_total",
    "cache_hits_total",
]
HistogramName = Literal["job_duration_seconds"]
GaugeName = Literal["jobs_running", "jobs_queued", "seconds_since_last_poll"]
LabelValue = str | int


@dataclass(frozen=True, slots=True)
class MetricSpec:
    help: str
    labels: tuple[str, ...] = ()


COUNTERS: Mapping[CounterName, MetricSpec] = MappingProxyType(
    {
        "updates_total": MetricSpec("Telegram updates received."),
        "downloads_total": MetricSpec("Jobs finished, by outcome.", ("outcome",)),
        "bytes_delivered_total": MetricSpec("Bytes sent to Telegram, by route.", ("route",)),
        "bot_api_errors_total": MetricSpec(
            "Bot API calls that failed, by method and error code.", ("method", "code")
        ),
        "cache_hits_total": MetricSpec("Links answered from the file_id cache."),
    }
)
HISTOGRAMS: Mapping[HistogramName, MetricSpec] = MappingProxyType(
    {"job_duration_seconds": MetricSpec("Wall time of a job from start to its last message.")}
)
GAUGES: Mapping[GaugeName, MetricSpec] = MappingProxyType(
    {
        "jobs_running": MetricSpec("Jobs downloading or uploading now."),
        "jobs_queued": MetricSpec("Jobs waiting for a worker."),
        "seconds_since_last_poll": MetricSpec("Seconds since the last getUpdates round trip."),
    }
)
UPTIME_HELP = "Seconds since the daemon started."
JOB_DURATION_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    """Thread-safe (workers may count too); every name and label set is checked on use."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._counters: dict[tuple[CounterName, tuple[str, ...]], float] = {}
        self._buckets = [0] * len(JOB_DURATION_BUCKETS)
        self._sum = 0.0
        self._count = 0
        self._gauges: dict[GaugeName, Callable[[], float]] = {}

    def inc(self, name: CounterName, amount: float = 1, **labels: LabelValue) -> None:
        """Add `amount` (>= 0) to the counter with exactly the spec's labels."""
        if amount < 0:
            raise ValueError(f"{name}: counters only go up (got {amount})")
        key = (name, _label_values(name, COUNTERS[name], labels))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + amount

    def observe(self, name: HistogramName, value: float) -> None:
        if name not in HISTOGRAMS:
            raise KeyError(name)
        with self._lock:
            self._sum += value
            self._count += 1
            for i, bound in enumerate(JOB_DURATION_BUCKETS):
                if value <= bound:
                    self._buckets[i] += 1

    def set_gauge_fn(self, name: GaugeName, fn: Callable[[], float]) -> None:
        """Read `fn()` at every scrape; called on the event loop, so it must be cheap."""
        if name not in GAUGES:
            raise KeyError(name)
        self._gauges[name] = fn

    def value(self, name: CounterName, **labels: LabelValue) -> float:
        key = (name, _label_values(name, COUNTERS[name], labels))
        with self._lock:
            return self._counters.get(key, 0.0)

    def render(self) -> str:
        """The text exposition format (version 0.0.4)."""
        with self._lock:
            counters = dict(self._counters)
            buckets, total, count = list(self._buckets), self._sum, self._count
        out: list[str] = []
        for cname, spec in COUNTERS.items():
            _header(out, cname, spec.help, "counter")
            samples = sorted((values, v) for (n, values), v in counters.items() if n == cname)
            if not spec.labels and not samples:
                out.append(f"{PREFIX}{cname} 0")
            for values, v in samples:
                out.append(f"{PREFIX}{cname}{_pairs(spec.labels, values)} {_num(v)}")
        for hname, spec in HISTOGRAMS.items():
            _header(out, hname, spec.help, "histogram")
            for bound, hits in zip(JOB_DURATION_BUCKETS, buckets, strict=True):
                out.append(f'{PREFIX}{hname}_bucket{{le="{_num(bound)}"}} {hits}')
            out.append(f'{PREFIX}{hname}_bucket{{le="+Inf"}} {count}')
            out.append(f"{PREFIX}{hname}_sum {_num(total)}")
            out.append(f"{PREFIX}{hname}_count {count}")
        for gname, spec in GAUGES.items():
            _header(out, gname, spec.help, "gauge")
            fn = self._gauges.get(gname)
            if fn is not None:
                out.append(f"{PREFIX}{gname} {_num(float(fn()))}")
        _header(out, "uptime_seconds", UPTIME_HELP, "gauge")
        out.append(f"{PREFIX}uptime_seconds {_num(self._clock() - self._started)}")
        return "\n".join(out) + "\n"


def _label_values(
    name: str, spec: MetricSpec, labels: Mapping[str, LabelValue]
) -> tuple[str, ...]:
    if set(labels) != set(spec.labels):
        want = ", ".join(spec.labels) or "no labels"
        raise ValueError(f"{name} takes {want}; got {', '.join(sorted(labels)) or 'none'}")
    return tuple(str(labels[label]) for label in spec.labels)


def _header(out: list[str], name: str, help_text: str, kind: str) -> None:
    escaped = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    out.append(f"# HELP {PREFIX}{name} {escaped}")
    out.append(f"# TYPE {PREFIX}{name} {kind}")


def _pairs(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    inner = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))
