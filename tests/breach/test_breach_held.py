"""Places held as not yet told apart are shown, not hidden: ``survey`` reports the pairs beside
the alerts, ``breach detect`` prints them, an analyst can respond to either, and the daily job
keeps them with its run for the console's breaches page."""

from __future__ import annotations

import json
from datetime import timedelta

import pyarrow as pa
import pytest
from prometheus_client import CollectorRegistry
from tests.breach.conftest import T0, TWINS_AS_OF, twin_places
from typer.testing import CliRunner

from cardwatch.breach import detect_daily, survey, survey_daily
from cardwatch.cli import app
from cardwatch.server.daily import JOB, DailyDetection
from cardwatch.server.local import SimulatedClock
from cardwatch.store.history import History
from cardwatch.store.sql import open_store

BOTH = list(range(20, 28))  # eight victims, customers of A and of B alike
TOLD_APART = [*BOTH, 0, 1, 2, 3]  # four more, customers of A alone


@pytest.fixture(scope="module")
def twins() -> pa.Table:
    return twin_places(BOTH)


def test_survey_reports_the_pair_it_holds(twins) -> None:
    found = survey(twins, TWINS_AS_OF)
    assert not {s.merchant_id for s in found.suspects} & {"A", "B"}
    [held] = found.held
    assert {held.place.key, held.rival.key} == {"store:A", "store:B"}
    assert held.place.fraud_cards == 8
    assert set(held.place.fraud_card_ids) <= set(held.rival.fraud_card_ids)
    said = held.to_dict()
    assert said["shared_fraud_cards"] == 8
    assert said["place"]["merchant_ids"] == [held.place.merchant_id]
    assert said["text"].startswith(f"{held.place.merchant_id} (store) or ")


def test_once_told_apart_nothing_is_held() -> None:
    found = survey(twin_places(TOLD_APART), TWINS_AS_OF)
    assert [s.merchant_id for s in found.suspects] == ["A"] and found.held == []


def test_the_daily_runs_carry_the_pairs_and_the_first_alerts(twins) -> None:
    start, end = T0 + timedelta(days=50), TWINS_AS_OF
    runs = list(survey_daily(twins, start, end))
    assert runs[0][0] == start and any(run.held for _, run in runs)
    first = {s.key: t for t, run in reversed(runs) for s in run.suspects}
    assert sorted(first.items()) == sorted((s.key, t) for t, s in detect_daily(twins, start, end))


def _home(workspace, table: pa.Table) -> list[str]:
    History(workspace).append(table)
    return ["--home", str(workspace.home), "--as-of", TWINS_AS_OF.isoformat()]


def test_breach_detect_prints_the_pairs_and_keeps_the_json_a_list_of_alerts(
    workspace, twins, tmp_path
) -> None:
    out = tmp_path / "suspects.json"
    home = _home(workspace, twins)
    result = CliRunner().invoke(app, ["breach", "detect", *home, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "not yet told apart" in result.output
    assert "store:A" in result.output and "store:B" in result.output
    assert not {s["merchant_id"] for s in json.loads(out.read_text())} & {"A", "B"}


def test_an_analyst_can_respond_to_a_held_place(workspace, twins) -> None:
    """The analyst knows better (B's security team found the skimmer): respond to B by its key.
    An unknown key is refused, naming the held places beside the alerts."""
    home = _home(workspace, twins)
    runner = CliRunner()
    refused = runner.invoke(app, ["breach", "respond", "store:NOWHERE", *home, "--no-notify"])
    assert refused.exit_code != 0
    assert "held, not yet told apart: store:" in refused.output
    done = runner.invoke(app, ["breach", "respond", "store:B", *home, "--no-notify"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["victims"] >= 8 and summary["cards"] > summary["victims"]
    store = open_store(workspace)
    try:
        [breach] = store.breaches()
        assert breach.merchant_id == "B" and breach.status == "suspected"
    finally:
        store.close()


def test_the_daily_job_keeps_the_pairs_with_its_run(workspace, twins) -> None:
    History(workspace).append(twins)
    store = open_store(workspace)
    try:
        clock = SimulatedClock(TWINS_AS_OF)
        registry = CollectorRegistry()
        job = DailyDetection(workspace, store, clock=clock, hour=0, registry=registry)
        report = job.run_once()
        assert not report.created
        [pair] = report.held
        assert {pair["place"], pair["rival"]} == {"store:A", "store:B"}
        assert "defrauded cards of the first paid at both" in pair["text"]
        assert store.last_job_run(JOB).details["held"] == [pair]
        assert registry.get_sample_value("cardwatch_breach_detection_last_held_pairs") == 1
        # No new report by the next run: it is skipped, and the pair stays on show.
        clock.start += timedelta(days=1)
        again = job.run_once()
        assert again.skipped and again.held == [pair]
    finally:
        store.close()


def test_the_console_lists_the_pairs_and_a_supervisor_records_one(workspace, twins) -> None:
    """The breaches page shows the last run's pairs; a supervisor who knows it is B records B
    as a suspected breach (nobody told); an analyst may look but not record."""
    from fastapi.testclient import TestClient
    from tests.server.console.conftest import log_in
    from tests.server.console.seed import add_users

    from cardwatch.server.console import create_console_app

    History(workspace).append(twins)
    store = open_store(workspace)
    try:
        add_users(store)
        DailyDetection(workspace, store, clock=SimulatedClock(TWINS_AS_OF), hour=0).run_once()
        app = create_console_app(workspace, store, clock=lambda: TWINS_AS_OF)
        with TestClient(app) as client:
            token = log_in(client, "ana")
            html = client.get("/console/breaches").text
            assert "Held: not yet told apart" in html and "store:B" in html
            assert "It is this one" not in html  # analysts see, supervisors record
            form = {"key": "store:B", "csrf_token": token}
            assert client.post("/console/breaches/held/respond", data=form).status_code == 403
        with TestClient(app) as client:
            token = log_in(client, "sam")
            assert "It is this one" in client.get("/console/breaches").text
            form = {"key": "store:NOWHERE", "csrf_token": token}
            refused = client.post("/console/breaches/held/respond", data=form)
            assert "not held by the last detection run" in refused.text
            form["key"] = "store:B"
            done = client.post("/console/breaches/held/respond", data=form)
            assert done.status_code == 200 and "Recorded store:B as a suspected breach" in done.text
        [breach] = store.breaches()
        assert breach.merchant_id == "B" and breach.status == "suspected"
        assert store.exposures(breach.breach_id) and not store.outbox_messages(limit=10)
        assert [e.who for e in store.audit_entries() if e.action == "respond_held"] == ["sam"]
    finally:
        store.close()
