"""The daemon's metrics on prometheus_client: our counters, one histogram, gauges read at scrape
time, and prometheus_client's own process and Python collectors (process_resident_memory_bytes is
the one to watch under MemoryMax).

Everything is registered in a registry of its own, made with the Metrics object (in app.py),
never in prometheus_client's global default one: no module-level state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "tgfetch_"

CounterName = Literal[
    "updates_total",
    "downloads_total",
    "bytes_delivered_total",
    "bot_api_errors_total",
    "cache_hits_total",
]
HistogramName = Literal["job_duration_seconds"]
GaugeName = Literal["jobs_running", "jobs_queued", "seconds_since_last_poll", "queue_up"]
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
        "queue_up": MetricSpec("1 while Redis answers (QUEUE_URL set), else 0."),
    }
)
UPTIME_HELP = "Seconds since the daemon started."
JOB_DURATION_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    """Thread-safe (prometheus_client's own locks); every name and label set is checked on use."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self._counters = {
            name: Counter(
                # prometheus_client adds the _total itself.
                PREFIX + name.removesuffix("_total"),
                spec.help,
                spec.labels,
                registry=registry,
            )
            for name, spec in COUNTERS.items()
        }
        self._histograms = {
            name: Histogram(
                PREFIX + name, spec.help, buckets=JOB_DURATION_BUCKETS, registry=registry
            )
            for name, spec in HISTOGRAMS.items()
        }
        started = clock()
        uptime = Gauge(PREFIX + "uptime_seconds", UPTIME_HELP, registry=registry)
        uptime.set_function(lambda: clock() - started)
        self._gauges = _ReadAtScrape()
        registry.register(self._gauges)

    def inc(self, name: CounterName, amount: float = 1, **labels: LabelValue) -> None:
        """Add `amount` (>= 0) to the counter with exactly the spec's labels."""
        if amount < 0:
            raise ValueError(f"{name}: counters only go up (got {amount})")
        values = _label_values(name, COUNTERS[name], labels)
        counter = self._counters[name]
        (counter.labels(*values) if values else counter).inc(amount)

    def observe(self, name: HistogramName, value: float) -> None:
        self._histograms[name].observe(value)

    def set_gauge_fn(self, name: GaugeName, fn: Callable[[], float]) -> None:
        """Read `fn()` at every scrape; called on the event loop, so it must be cheap. A gauge
        without a source has no sample rather than a made-up zero."""
        if name not in GAUGES:
            raise KeyError(name)
        self._gauges.sources[name] = fn

    def value(self, name: CounterName, **labels: LabelValue) -> float:
        values = _label_values(name, COUNTERS[name], labels)
        sample = dict(zip(COUNTERS[name].labels, values, strict=True))
        found = self.registry.get_sample_value(PREFIX + name, sample)
        return found or 0.0

    def render(self) -> str:
        """The text exposition format (version 0.0.4)."""
        return generate_latest(self.registry).decode()


class _ReadAtScrape(Collector):
    """The gauges whose value is asked for at each scrape; one with no source has no sample."""

    def __init__(self) -> None:
        self.sources: dict[GaugeName, Callable[[], float]] = {}

    def collect(self) -> Iterable[Metric]:
        for name, spec in GAUGES.items():
            family = GaugeMetricFamily(PREFIX + name, spec.help)
            source = self.sources.get(name)
            if source is not None:
                family.add_metric([], float(source()))
            yield family


def _label_values(
    name: str, spec: MetricSpec, labels: Mapping[str, LabelValue]
) -> tuple[str, ...]:
    if set(labels) != set(spec.labels):
        want = ", ".join(spec.labels) or "no labels"
        raise ValueError(f"{name} takes {want}; got {', '.join(sorted(labels)) or 'none'}")
    return tuple(str(labels[label]) for label in spec.labels)
