"""The daily breach detection inside ``cardwatch serve``: once a day on the service's clock, its
new suspects recorded and alerted once, widened breaches updated, cardholders never notified by
it, and a restart does not repeat the day's run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pyarrow as pa
import pytest
from prometheus_client import CollectorRegistry
from tests.server.stores import opened

from cardwatch.breach import DetectConfig, survey
from cardwatch.schema import HISTORY_SCHEMA
from cardwatch.server import daily
from cardwatch.server.daily import JOB, DailyDetection
from cardwatch.server.local import SimulatedClock, free_port
from cardwatch.store.history import History

from .conftest import PLACES

HOUR = 2


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, workspace, breached_world, tmp_path):
    History(workspace).append(breached_world.table)
    with opened(request.param, tmp_path) as s:
        yield s


def _clock(at: datetime) -> SimulatedClock:
    return SimulatedClock(at)


def _advance(clock: SimulatedClock, by: timedelta) -> None:
    clock.start += by


def _breach_alerts(store):
    return [a for a in store.alerts(limit=10_000) if a.kind == "breach"]


def test_a_new_suspect_is_recorded_and_alerted_once_without_notices(workspace, store) -> None:
    clock = _clock(datetime(2013, 12, 20, 3, tzinfo=UTC))
    registry = CollectorRegistry()
    job = DailyDetection(workspace, store, clock=clock, hour=HOUR, registry=registry)
    report = job.tick()
    assert report is not None and report.suspects >= 1 and len(report.created) == 1
    bid = report.created[0]
    breach = store.get_breach(bid)
    assert breach is not None and breach.evidence["key"] == "chain:BIGMART"
    assert breach.status == "suspected"  # a person confirms before anyone is told
    assert store.exposures(bid)  # the engine tightens on them at once
    assert [a.card_id for a in _breach_alerts(store)] == [f"breach:{bid}"]
    assert not store.outbox_messages(limit=10)
    assert registry.get_sample_value(
        "cardwatch_breach_detection_last_run_timestamp_seconds"
    ) == pytest.approx(report.as_of.timestamp())
    assert registry.get_sample_value("cardwatch_breach_detection_last_new_breaches") == 1

    # Not due again until the next day's hour.
    assert job.tick() is None
    _advance(clock, timedelta(hours=22))  # 01:00 the next day
    assert job.tick() is None
    _advance(clock, timedelta(hours=1, minutes=5))
    again = job.tick()
    assert again is not None and not again.created
    assert again.already + len(again.updated) == again.suspects
    assert len(store.breaches()) == 1 and len(_breach_alerts(store)) == 1
    assert not store.outbox_messages(limit=10)


def test_every_six_hours_the_job_is_due_four_times_a_day(workspace, store) -> None:
    """``every=6 h`` from 02:00: due at 02:00, 08:00, 14:00 and 20:00 and not in between, so a
    burst of reports in the morning is looked at by the afternoon, not the next night."""
    clock = _clock(datetime(2013, 12, 20, 3, tzinfo=UTC))
    job = DailyDetection(workspace, store, clock=clock, hour=HOUR, every=timedelta(hours=6))
    assert job.tick() is not None
    due = []
    for _ in range(24):
        _advance(clock, timedelta(hours=1))
        if job.tick() is not None:
            due.append(clock().hour)
    assert due == [8, 14, 20, 2]
    with pytest.raises(ValueError, match="divide the day"):
        DailyDetection(workspace, store, clock=clock, hour=HOUR, every=timedelta(hours=7))


def test_a_restart_does_not_repeat_the_days_run(workspace, store) -> None:
    clock = _clock(datetime(2013, 12, 20, 3, tzinfo=UTC))
    assert DailyDetection(workspace, store, clock=clock, hour=HOUR).tick() is not None
    _advance(clock, timedelta(hours=5))
    registry = CollectorRegistry()
    restarted = DailyDetection(workspace, store, clock=clock, hour=HOUR, registry=registry)
    assert restarted.tick() is None
    last = store.last_job_run(JOB)
    assert last is not None
    assert abs(last.as_of - datetime(2013, 12, 20, 3, tzinfo=UTC)) < timedelta(minutes=1)
    # /metrics shows the stored last run after the restart.
    assert registry.get_sample_value(
        "cardwatch_breach_detection_last_run_timestamp_seconds"
    ) == pytest.approx(last.as_of.timestamp())
    # Down for days: the missed run happens at start-up, before the day's hour.
    _advance(clock, timedelta(days=3, hours=-7))  # 2013-12-23 01:00
    late = DailyDetection(workspace, store, clock=clock, hour=HOUR)
    assert late.tick() is not None


def test_a_widened_breach_is_updated_not_alerted_again(workspace, store) -> None:
    clock = _clock(datetime(2013, 12, 20, 3, tzinfo=UTC))
    job = DailyDetection(workspace, store, clock=clock, hour=HOUR)
    bid = job.tick().created[0]
    before = store.get_breach(bid)
    cards_before = len(store.exposures(bid))
    _advance(clock, timedelta(days=11))  # 2013-12-31 03:00
    report = job.tick()
    assert report is not None and report.updated == [bid] and not report.created
    after = store.get_breach(bid)
    assert after.window_start < before.window_start or after.window_end > before.window_end
    assert len(store.exposures(bid)) > cards_before
    assert len(store.breaches()) == 1 and len(_breach_alerts(store)) == 1
    assert not store.outbox_messages(limit=10)


def test_a_dismissed_breach_stays_dismissed(workspace, store) -> None:
    clock = _clock(datetime(2013, 12, 20, 3, tzinfo=UTC))
    job = DailyDetection(workspace, store, clock=clock, hour=HOUR)
    bid = job.tick().created[0]
    store.set_breach_status(bid, "dismissed")
    _advance(clock, timedelta(days=11))
    report = job.tick()
    assert report is not None and not report.created and not report.updated
    assert report.already == report.suspects >= 1
    assert store.get_breach(bid).status == "dismissed"


def test_the_job_sets_aside_the_victims_of_its_breaches_not_dismissed(
    workspace, store, monkeypatch
) -> None:
    seen: list[list[str]] = []

    def spy(con, now, config, known=()):
        seen.append(sorted(k.key for k in known))
        return survey(con, now, config, known)

    monkeypatch.setattr(daily, "survey", spy)
    clock = _clock(datetime(2013, 12, 20, 3, tzinfo=UTC))
    job = DailyDetection(workspace, store, clock=clock, hour=HOUR)
    bid = job.tick().created[0]
    _advance(clock, timedelta(days=11))
    job.tick()
    store.set_breach_status(bid, "dismissed")  # a false alarm: its cards are back in play
    _advance(clock, timedelta(days=11))
    job.tick()
    assert seen == [[], ["chain:BIGMART"], []]


def test_no_new_report_skips_the_run(workspace, store) -> None:
    """Past the end of the world's reports nothing new arrives: the run is recorded, skipped."""
    clock = _clock(datetime(2014, 3, 1, 3, tzinfo=UTC))
    job = DailyDetection(workspace, store, clock=clock, hour=HOUR)
    assert job.tick().created
    _advance(clock, timedelta(days=1))
    report = job.tick()
    assert report is not None and report.skipped and not report.created


def _clone_seen(card: str, at: datetime) -> pa.Table:
    """``card``'s stripe read in New York at ``at``, its chip in Paris an hour later."""
    rows = {name: [None, None] for name in HISTORY_SCHEMA.names}
    rows |= {
        "txn_id": ["clone-1", "clone-2"],
        "timestamp": [at, at + timedelta(hours=1)],
        "card_id": [card, card],
        "amount": [80.0, 12.0],
        "merchant_id": ["NYSHOP", "SUPER"],
        "merchant_name": ["NY SHOP", "SUPER"],
        "merchant_country": ["US", "FR"],
        "merchant_lat": [PLACES["US"][0], PLACES["FR"][0]],
        "merchant_lon": [PLACES["US"][1], PLACES["FR"][1]],
        "channel": ["card_present", "card_present"],
        "entry_mode": ["magstripe", "chip"],
        "is_fraud": [0, 0],
    }
    return pa.table(rows, schema=HISTORY_SCHEMA)


def test_with_clones_as_evidence_a_new_clone_runs_the_job(workspace, store) -> None:
    """Clones are evidence when they are used, reported or not: a day with a card newly seen
    paying as a clone runs, though nothing was reported; a day with neither is skipped."""
    clock = _clock(datetime(2014, 3, 1, 3, tzinfo=UTC))
    early = DetectConfig(counterfeit_use=True)
    job = DailyDetection(workspace, store, clock=clock, hour=HOUR, config=early)
    assert job.tick().created
    History(workspace).append(_clone_seen("c0001", datetime(2014, 3, 1, 12, tzinfo=UTC)))
    _advance(clock, timedelta(days=1))
    report = job.tick()
    assert report is not None and report.skipped is None and report.suspects
    _advance(clock, timedelta(days=1))
    report = job.tick()
    assert report is not None and report.skipped == (
        "no fraud reported and no clone seen since the last run"
    )


def test_serve_runs_the_job_on_its_clock(workspace, store) -> None:
    """``serve_all`` with a detection hour: a run at start-up on the simulated clock, visible in
    /metrics, and the next day's run when the clock gets there."""
    from cardwatch.cli.serve import serve_all
    from cardwatch.server.assembly import build

    clock = _clock(datetime(2013, 12, 20, 3, tzinfo=UTC))
    running = build(workspace, warm=False, store=store, clock=clock)
    port = free_port()

    async def scenario() -> list[str]:
        stop = asyncio.Event()
        task = asyncio.create_task(
            serve_all(
                running, "127.0.0.1", port, None, stop, clock, detect_hour=HOUR, detect_poll=0.05
            )
        )
        seen: list[str] = []
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(600):
                    await asyncio.sleep(0.05)
                    last = store.last_job_run(JOB)
                    if last is not None and last.as_of.day == 20 and not seen:
                        body = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                        seen.append(body)
                        _advance(clock, timedelta(days=1))
                    if last is not None and last.as_of.day == 21:
                        break
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        return seen

    seen = asyncio.run(scenario())
    assert seen and "cardwatch_breach_detection_last_run_timestamp_seconds" in seen[0]
    last = store.last_job_run(JOB)
    assert last is not None and last.as_of.date() == datetime(2013, 12, 21).date()
    assert len(store.breaches()) == 1
