"""Metrics: what a Prometheus scrape of /metrics would read (prometheus_client writes the text)."""

from __future__ import annotations

import re

import pytest

from bot.ops.metrics import JOB_DURATION_BUCKETS, Metrics

SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})?'
    r" (?P<value>[-+]?(?:[0-9.eE+-]+|Inf|NaN))$"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
UNESCAPE = re.compile(r"\\(.)")


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """A strict reader of the text format: every line is a comment or a well-formed sample."""
    assert text.endswith("\n")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram"}
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.match(line)
        assert match, f"malformed line: {line!r}"
        name = match["name"]
        assert name in types or re.sub(r"_(bucket|sum|count)$", "", name) in types
        labels = frozenset(
            (k, UNESCAPE.sub(lambda m: "\n" if m[1] == "n" else m[1], v))
            for k, v in LABEL.findall(match["labels"] or "")
        )
        samples[(name, labels)] = float(match["value"])
    return samples


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (f"tgfetch_{name}", frozenset(labels.items()))


def test_counters_with_labels() -> None:
    metrics = Metrics()
    metrics.inc("updates_total")
    metrics.inc("updates_total", 2)
    metrics.inc("downloads_total", outcome="delivered")
    metrics.inc("downloads_total", outcome="failed")
    metrics.inc("downloads_total", outcome="delivered")
    metrics.inc("bytes_delivered_total", 1500, route="bot_api")
    metrics.inc("bot_api_errors_total", method="sendVideo", code=413)

    samples = parse(metrics.render())

    assert samples[key("updates_total")] == 3
    assert samples[key("downloads_total", outcome="delivered")] == 2
    assert samples[key("downloads_total", outcome="failed")] == 1
    assert samples[key("bytes_delivered_total", route="bot_api")] == 1500
    assert samples[key("bot_api_errors_total", method="sendVideo", code="413")] == 1
    assert samples[key("cache_hits_total")] == 0  # unlabelled counters start at zero
    assert metrics.value("downloads_total", outcome="delivered") == 2


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    odd = 'say "hi"\\now\nthen'
    metrics.inc("bot_api_errors_total", method=odd, code=400)
    text = metrics.render()
    assert 'method="say \\"hi\\"\\\\now\\nthen"' in text
    assert parse(text)[key("bot_api_errors_total", method=odd, code="400")] == 1


def test_histogram_buckets_are_cumulative() -> None:
    metrics = Metrics()
    for seconds in (0.5, 3.2, 3.2, 45, 7200):
        metrics.observe("job_duration_seconds", seconds)
    samples = parse(metrics.render())

    def bucket(le: str) -> float:  # prometheus_client writes the bounds as floats: le="1.0"
        bound = le if le == "+Inf" else repr(float(le))
        return samples[key("job_duration_seconds_bucket", le=bound)]

    assert bucket("1") == 1
    assert bucket("5") == 3
    assert bucket("60") == 4
    assert bucket("3600") == 4
    assert bucket("+Inf") == 5
    assert samples[key("job_duration_seconds_count")] == 5
    assert samples[key("job_duration_seconds_sum")] == pytest.approx(7251.9)
    assert len([k for k in samples if k[0].endswith("_bucket")]) == len(JOB_DURATION_BUCKETS) + 1


def test_gauges_are_read_at_scrape_time() -> None:
    now = [100.0]
    metrics = Metrics(clock=lambda: now[0])
    running = [1]
    metrics.set_gauge_fn("jobs_running", lambda: running[0])
    metrics.set_gauge_fn("seconds_since_last_poll", lambda: 2.5)

    assert parse(metrics.render())[key("jobs_running")] == 1
    running[0] = 4
    now[0] = 160.0
    samples = parse(metrics.render())
    assert samples[key("jobs_running")] == 4
    assert samples[key("seconds_since_last_poll")] == 2.5
    assert samples[key("uptime_seconds")] == 60
    assert key("jobs_queued") not in samples  # no source set: no sample rather than a lie


def test_help_and_type_precede_samples() -> None:
    lines = Metrics().render().splitlines()
    i = lines.index("tgfetch_updates_total 0.0")
    assert lines[i - 2].startswith("# HELP tgfetch_updates_total ")
    assert lines[i - 1] == "# TYPE tgfetch_updates_total counter"
    assert "# TYPE tgfetch_job_duration_seconds histogram" in lines
    assert "# TYPE tgfetch_jobs_running gauge" in lines


def test_process_metrics_come_with_them() -> None:
    samples = parse(Metrics().render())
    assert samples[("process_resident_memory_bytes", frozenset())] > 10 * 1024 * 1024
    assert ("process_open_fds", frozenset()) in samples


def test_each_metrics_object_has_a_registry_of_its_own() -> None:
    first, second = Metrics(), Metrics()  # a second would clash in one global registry
    first.inc("updates_total")
    assert first.value("updates_total") == 1
    assert second.value("updates_total") == 0


def test_wrong_labels_and_negative_increments_are_refused() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="takes outcome"):
        metrics.inc("downloads_total")
    with pytest.raises(ValueError, match="takes no labels"):
        metrics.inc("updates_total", chat="1")
    with pytest.raises(ValueError, match="only go up"):
        metrics.inc("updates_total", -1)
