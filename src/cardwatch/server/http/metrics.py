"""Prometheus metrics of the authorisation service (one registry per service, not the global
one, so that several services — and tests — can live in one process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cardwatch.schema import Decision

__all__ = ["ServiceMetrics"]


class ServiceMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter(
            "cardwatch_decisions",
            "Decisions answered",
            ["action", "response_code"],
            registry=registry,
        )
        self.latency = Histogram(
            "cardwatch_decision_seconds",
            "Time to decide and store one authorisation",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2),
            registry=registry,
        )
        self.stand_in = Counter(
            "cardwatch_stand_in_answers",
            "Answers given by the stand-in policy",
            ["why"],
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "cardwatch_outbox_backlog", "Notifications waiting to be delivered", registry=registry
        )

        self.registry = registry

    def observe(self, decision: Decision, seconds: float) -> None:
        self.decisions.labels(decision.action.value, decision.response_code).inc()
        self.latency.observe(seconds)

    def track_backlog(self, count: Callable[[], int]) -> None:
        self.outbox_backlog.set_function(count)

    def track_iso(self, counters: Callable[[], dict[str, int]]) -> None:
        """Export the ISO 8583 listener's own counters (frames, answers, stand-in, errors)."""
        self.registry.register(_IsoCollector(counters))


class _IsoCollector(Collector):
    def __init__(self, counters: Callable[[], dict[str, int]]) -> None:
        self.counters = counters

    def collect(self):  # type: ignore[no-untyped-def]
        for name, value in self.counters().items():
            if name == "connections_open":
                yield GaugeMetricFamily(f"cardwatch_iso_{name}", "ISO 8583 " + name, value=value)
            else:
                yield CounterMetricFamily(f"cardwatch_iso_{name}", "ISO 8583 " + name, value=value)
