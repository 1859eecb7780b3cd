"""What /metrics exports: decisions by action and code, latency, outbox backlog, ISO counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from cardwatch.schema import Action, Decision
from cardwatch.server.http.metrics import ServiceMetrics


def test_metrics_cover_decisions_backlog_and_iso() -> None:
    registry = CollectorRegistry()
    metrics = ServiceMetrics(registry)
    metrics.observe(Decision("t1", Action.DECLINE, "59", 0.97), 0.0004)
    metrics.observe(Decision("t2", Action.APPROVE, "00", 0.01), 0.0002)
    metrics.track_backlog(lambda: 7)
    metrics.track_iso(lambda: {"frames": 12, "stand_in_timeout": 1, "connections_open": 2})
    metrics.stand_in.labels("timeout").inc()
    text = generate_latest(registry).decode()
    assert 'cardwatch_decisions_total{action="decline",response_code="59"} 1.0' in text
    assert "cardwatch_decision_seconds_count 2.0" in text
    assert "cardwatch_outbox_backlog 7.0" in text
    assert "cardwatch_iso_frames_total 12.0" in text
    assert "cardwatch_iso_connections_open 2.0" in text
    assert 'cardwatch_stand_in_answers_total{why="timeout"} 1.0' in text
