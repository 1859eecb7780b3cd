"""The breach response: exposure counted in people, victims first for analysts and in the reissue
plan, exposed cards flagged for the engine from the moment the issuer knew, notices queued once,
and nothing written twice when the response is run again."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from cardwatch.breach import detect
from cardwatch.breach.exposure import exposure, triage
from cardwatch.breach.flags import ExposureIndex
from cardwatch.breach.response import (
    BLOCK_AND_REISSUE,
    MONITOR,
    breach_record,
    exposure_records,
    plan_response,
)
from cardwatch.cli import app
from cardwatch.engine import Engine
from cardwatch.refresh import run_now
from cardwatch.replay import replay
from cardwatch.respond import StoreExposure, check_card, respond
from cardwatch.schema import Action, Transaction
from cardwatch.store.history import History
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import open_store

AS_OF = datetime(2013, 12, 31, tzinfo=UTC)
NOW = datetime(2014, 1, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan(breached_world):
    suspect = detect(breached_world.table, AS_OF)[0]
    exp = exposure(breached_world.table, suspect)
    return plan_response(suspect, exp, triage(breached_world.table, exp, AS_OF), AS_OF)


def test_plan_counts_people_and_puts_victims_first(plan, breached_world) -> None:
    t = breached_world.table.to_pandas()
    at = t[
        t.merchant_id.isin(plan.suspect.merchant_ids)
        & (t.timestamp >= plan.suspect.window_start)
        & (t.timestamp <= plan.suspect.window_end)
    ]
    assert len(plan.cards) == at.card_id.nunique() < plan.transactions == len(at)
    assert plan.customers == at.customer_id.nunique()
    assert plan.data_stolen == "track"  # the chain's tills: card-present payments
    assert sum(plan.counts.values()) == len(plan.cards)
    assert [c.rank for c in plan.cards] == list(range(1, len(plan.cards) + 1))
    victims = [c for c in plan.cards if c.victim]
    assert victims and plan.victims == len(victims)
    assert {c.rank for c in victims} == set(range(1, len(victims) + 1))
    assert all(c.action == BLOCK_AND_REISSUE for c in victims)
    assert plan.counts[MONITOR] > 0  # most exposed cards are never defrauded


def test_declines_since_exposure_raise_a_card(plan) -> None:
    quiet = next(c for c in reversed(plan.cards) if c.risk == 0)
    exp = exposure_stub(plan)
    again = plan_response(plan.suspect, exp, list(_rows(plan)), AS_OF, declines={quiet.card_id: 3})
    moved = next(c for c in again.cards if c.card_id == quiet.card_id)
    assert moved.rank < quiet.rank and moved.action == BLOCK_AND_REISSUE and moved.declines == 3


def exposure_stub(plan):
    from cardwatch.breach.exposure import Exposure

    s = plan.suspect
    return Exposure(
        s.merchant_ids,
        s.window_start,
        s.window_end,
        tuple(c.card_id for c in plan.cards),
        plan.customers,
        plan.transactions,
    )


def _rows(plan):
    from cardwatch.breach.exposure import TriageRow

    for c in plan.cards:
        yield TriageRow(
            c.card_id,
            c.customer_id,
            c.risk,
            c.fraud_reported,
            c.card_not_present,
            c.magstripe_abroad,
            c.amount_spike,
            c.payments_since,
        )


def test_flags_start_when_the_issuer_knew(plan) -> None:
    breach = breach_record(plan)
    index = ExposureIndex.build([(breach, exposure_records(plan, breach.breach_id))])
    card = plan.cards[0].card_id
    assert not index.flags(card, AS_OF - timedelta(seconds=1)).exposed
    flags = index.flags(card, AS_OF)
    assert flags.exposed and flags.counterfeit_risk
    assert not index.flags("nobody", AS_OF).exposed
    assert set(index.card_ids()) == {c.card_id for c in plan.cards}
    breach.status = "dismissed"
    dismissed = ExposureIndex.build([(breach, exposure_records(plan, breach.breach_id))])
    assert not dismissed.flags(card, AS_OF).exposed and not dismissed.card_ids()


def test_replay_honours_exposure_only_after_detection(plan, breached_world) -> None:
    """With no model, only exposure can challenge: card-not-present payments of exposed cards
    after the response, none before it."""
    breach = breach_record(plan)
    index = ExposureIndex.build([(breach, exposure_records(plan, breach.breach_id))])
    table = breached_world.table
    out = (
        replay(table, exposure=index)
        .to_pandas()
        .merge(table.select(["txn_id", "card_id", "timestamp", "channel"]).to_pandas(), on="txn_id")
    )
    stopped = out[out.action != "approve"]
    assert len(stopped) > 0
    assert (stopped.timestamp >= AS_OF).all()
    assert set(stopped.card_id) <= set(index.card_ids())
    baseline = replay(table)
    assert (baseline.column("action").to_pandas() == "approve").all()


def test_respond_writes_once_and_twice_writes_nothing(workspace, breached_world) -> None:
    History(workspace).append(breached_world.table)
    store = MemoryStore()
    first = respond(workspace, store, "BIGMART", now=NOW, as_of=AS_OF)
    bid = first.breach.breach_id
    assert first.created and first.breach.status == "notified"
    stored = store.exposures(bid)
    assert len(stored) == len(first.plan.cards) == first.exposures_added
    assert [e.rank for e in stored] == list(range(1, len(stored) + 1))
    assert first.notices_queued == len(stored)
    notices = store.outbox_messages(status="pending", limit=10_000)
    assert len(notices) == len(stored) and all(m.kind == "breach_notice" for m in notices)
    assert "BIGMART" in notices[0].payload["text"] and "/l/" in notices[0].payload["text"]
    cases = [c for c in store.cases(limit=10_000) if c.breach_id == bid]
    victims = {c.card_id for c in first.plan.cards if c.victim}
    assert len(cases) == first.cases_opened and victims <= {c.card_id for c in cases}
    # Highest priority first: the real victims, then high-risk cards.
    ordered = [c.card_id for c in store.cases(limit=10_000) if c.breach_id == bid]
    assert set(ordered[: len(victims)]) == victims
    assert store.alerts(card_id=f"breach:{bid}")
    assert first.alerts_added == 1 + first.cases_opened
    assert first.breach.evidence["data_stolen"] == "track"

    again = respond(workspace, store, "chain:BIGMART", now=NOW + timedelta(hours=1), as_of=AS_OF)
    assert again.breach.breach_id == bid and not again.created
    assert (again.exposures_added, again.cases_opened, again.alerts_added) == (0, 0, 0)
    assert again.notices_queued == 0 and again.already_notified
    assert len(store.exposures(bid)) == len(stored)
    assert len(store.outbox_messages(limit=10_000)) == len(notices)
    by_id = respond(workspace, store, bid, now=NOW, as_of=AS_OF, notify=False)
    assert by_id.breach.breach_id == bid and by_id.exposures_added == 0
    assert len(store.breaches()) == 1
    assert [a.action for a in store.audit_entries(target=f"breach:{bid}")].count(
        "breach_respond"
    ) == 3


def test_unknown_suspect_is_refused(workspace, breached_world) -> None:
    from cardwatch.errors import NotFoundError

    History(workspace).append(breached_world.table)
    with pytest.raises(NotFoundError):
        respond(workspace, MemoryStore(), "NOWHERE", now=NOW, as_of=AS_OF)


def test_engine_reads_exposure_from_the_store(workspace, breached_world) -> None:
    History(workspace).append(breached_world.table)
    store = MemoryStore()
    ticks = [0.0]
    live = StoreExposure(store, ttl_seconds=10, clock=lambda: ticks[0], refresh=run_now)
    assert not live.card_ids()
    result = respond(workspace, store, "BIGMART", now=NOW, as_of=AS_OF, notify=False)
    assert not live.card_ids()  # cached until invalidated or stale
    live.invalidate()
    card = result.plan.cards[-1].card_id  # a quiet card: only exposure can stop it
    assert live.flags(card, NOW).counterfeit_risk
    engine = Engine(exposure=live)
    abroad = Transaction(
        "x1",
        NOW,
        card,
        80.0,
        "ATM-MX",
        merchant_country="MX",
        channel="card_present",
        entry_mode="magstripe",
    )
    decision = engine.decide(abroad)
    assert (decision.action, decision.response_code) == (Action.DECLINE, "59")
    web = Transaction(
        "x2",
        NOW,
        card,
        30.0,
        "WEB1",
        merchant_country="FR",
        channel="ecommerce",
        entry_mode="ecommerce",
    )
    assert engine.decide(web).action is Action.CHALLENGE
    other = Transaction(
        "x3",
        NOW,
        "not-exposed",
        80.0,
        "ATM-MX",
        merchant_country="MX",
        channel="card_present",
        entry_mode="magstripe",
    )
    assert engine.decide(other).action is Action.APPROVE
    store.set_breach_status(result.breach.breach_id, "dismissed")
    ticks[0] = 11.0
    assert not live.flags(card, NOW).exposed


def test_check_card_same_shape_for_unknown_cards(workspace, breached_world) -> None:
    History(workspace).append(breached_world.table)
    store = MemoryStore()
    result = respond(workspace, store, "BIGMART", now=NOW, as_of=AS_OF, notify=False)
    bid = result.breach.breach_id
    yes = check_card(store, bid, result.plan.cards[0].card_id, NOW)
    no = check_card(store, bid, "tok_never_seen", NOW)
    assert yes.affected and not no.affected
    assert (yes.breach_id, yes.merchant_id, yes.window_start) == (
        no.breach_id,
        no.merchant_id,
        no.window_start,
    )
    assert len(store.audit_entries(target="card:tok_never_seen")) == 1


def test_cli_respond_prints_summary_and_writes_plan(workspace, breached_world, tmp_path) -> None:
    History(workspace).append(breached_world.table)
    out = tmp_path / "reissue.csv"
    args = [
        "breach",
        "respond",
        "BIGMART",
        "--home",
        str(workspace.home),
        "--as-of",
        "2013-12-31T00:00:00",
        "--reissue-out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cards"] > summary["victims"] > 0
    assert summary["notices_queued"] == summary["cards"]
    assert sum(summary["plan"].values()) == summary["cards"]
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == summary["cards"] and rows[0]["action"] == BLOCK_AND_REISSUE
    assert int(rows[0]["fraud_reported"]) > 0
    again = CliRunner().invoke(app, [*args[:-2], "--no-notify"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["exposures_added"] == 0
    store = open_store(workspace)
    try:
        assert len(store.breaches()) == 1
        assert len(store.exposures(summary["breach_id"])) == summary["cards"]
    finally:
        store.close()


def test_declines_in_the_store_raise_a_card_with_sql(workspace, breached_world) -> None:
    """Declines the live engine made on an exposed card since the window opened move it up."""
    from cardwatch.schema import Decision, Reason

    History(workspace).append(breached_world.table)
    store = open_store(workspace)
    try:
        quiet = respond(workspace, MemoryStore(), "BIGMART", now=NOW, as_of=AS_OF, notify=False)
        card = next(c for c in reversed(quiet.plan.cards) if c.risk == 0)
        at = quiet.plan.suspect.window_start + timedelta(days=1)  # since the window opened
        for i in range(3):
            txn = Transaction(f"d{i}", at + timedelta(minutes=i), card.card_id, 50.0, "WEB9")
            decision = Decision(
                f"d{i}",
                Action.DECLINE,
                "59",
                0.9,
                [Reason("model_score", "high")],
                decision_id=f"dec{i}",
            )
            store.record_decision(decision, txn, now=at)
        result = respond(workspace, store, "BIGMART", now=NOW, as_of=AS_OF, notify=False)
        moved = next(c for c in result.plan.cards if c.card_id == card.card_id)
        assert moved.declines == 3 and moved.rank < card.rank
        assert moved.action == BLOCK_AND_REISSUE
        ranks = {e.card_id: e.rank for e in store.exposures(result.breach.breach_id)}
        assert ranks[card.card_id] == moved.rank
    finally:
        store.close()


# ---- a chain's breach covers the chain; a later response updates the same breach ------------

EARLY = datetime(2013, 12, 10, tzinfo=UTC)  # before any alert in the test world


def _hand_recorded(store, level: str, merchant_id: str, stores: list[str]):
    from cardwatch.store.records import Breach

    evidence = {"level": level, "merchant_ids": stores}
    if level == "chain":
        evidence["chain"] = merchant_id
    start, end = datetime(2013, 11, 27, tzinfo=UTC), datetime(2013, 12, 8, tzinfo=UTC)
    return store.add_breach(Breach(merchant_id, start, end, 5.0, EARLY, evidence=evidence))


def _cards_at(table, stores, start, end) -> set[str]:
    t = table.to_pandas()
    at = t[t.merchant_id.isin(stores) & (t.timestamp >= start) & (t.timestamp <= end)]
    return set(at.card_id)


def test_chain_breach_exposes_every_store_of_the_chain(workspace, breached_world) -> None:
    """Victims reported at 2 of BIGMART's 5 stores: the chain's tills are suspected, so the
    cards that paid at all 5 stores in the window are exposed; narrowed on request; a store-level
    breach stays at its store."""
    History(workspace).append(breached_world.table)
    store = MemoryStore()
    b = _hand_recorded(store, "chain", "BIGMART", ["BM1", "BM2"])
    result = respond(workspace, store, b.breach_id, now=NOW, as_of=EARLY, notify=False)
    every = [f"BM{i}" for i in range(5)]
    start, end = b.window_start, b.window_end
    assert {c.card_id for c in result.plan.cards} == _cards_at(
        breached_world.table, every, start, end
    )
    assert _cards_at(breached_world.table, ["BM1", "BM2"], start, end) < {
        c.card_id for c in result.plan.cards
    }
    s = result.summary()
    assert (s["stores"], s["stores_with_victims"], s["chain_wide"]) == (5, 2, True)
    assert "all 5 stores of the chain BIGMART" in s["scope"] and "2 of its stores" in s["scope"]
    assert store.get_breach(b.breach_id).evidence["exposed_merchant_ids"][:2] == ["BM1", "BM2"]
    assert all(row["stores"] == 5 for row in result.plan.rows())

    narrow_store = MemoryStore()
    nb = _hand_recorded(narrow_store, "chain", "BIGMART", ["BM1", "BM2"])
    narrow = respond(
        workspace, narrow_store, nb.breach_id, now=NOW, as_of=EARLY, notify=False, chain_wide=False
    )
    assert {c.card_id for c in narrow.plan.cards} == _cards_at(
        breached_world.table, ["BM1", "BM2"], start, end
    )
    assert narrow.summary()["stores"] == 2 and not narrow.summary()["chain_wide"]

    shop_store = MemoryStore()
    sb = _hand_recorded(shop_store, "store", "BM1", ["BM1"])
    shop = respond(workspace, shop_store, sb.breach_id, now=NOW, as_of=EARLY, notify=False)
    assert {c.card_id for c in shop.plan.cards} == _cards_at(
        breached_world.table, ["BM1"], start, end
    )
    assert shop.summary()["stores"] == 1 and not shop.summary()["chain_wide"]


def test_a_later_response_widens_reranks_and_tells_only_the_new_cards(
    workspace, breached_world
) -> None:
    History(workspace).append(breached_world.table)
    store = MemoryStore()
    mid = datetime(2013, 12, 20, tzinfo=UTC)
    first = respond(workspace, store, "BIGMART", now=mid, as_of=mid)
    bid = first.breach.breach_id
    told_first = {m.card_id for m in store.outbox_messages(limit=100_000)}
    assert told_first == {c.card_id for c in first.plan.cards}
    cases_first = {c.card_id for c in store.cases(limit=10_000) if c.breach_id == bid}

    later = respond(workspace, store, "BIGMART", now=NOW, as_of=AS_OF)
    assert later.breach.breach_id == bid and not later.created and later.widened
    assert later.breach.window_start <= first.breach.window_start
    assert later.breach.window_end >= first.breach.window_end
    assert len(store.breaches()) == 1
    new_cards = {c.card_id for c in later.plan.cards} - told_first
    assert new_cards and later.exposures_added == len(new_cards)
    # The new cards are told, once; nobody is told twice.
    messages = store.outbox_messages(limit=100_000)
    per_card = [m.card_id for m in messages if m.payload["breach_id"] == bid]
    assert len(per_card) == len(set(per_card))
    assert set(per_card) == told_first | new_cards
    assert later.notices_queued == len(new_cards) and later.already_notified
    assert later.untold == 0
    assert all(e.notified_at is not None for e in store.exposures(bid))
    # Triage order is the new analysis's: stored ranks follow the new plan.
    ranks = {e.card_id: e.rank for e in store.exposures(bid)}
    assert [ranks[c.card_id] for c in later.plan.cards] == list(range(1, len(later.plan.cards) + 1))
    assert later.exposures_reranked > 0
    # New victims get a case, old ones not a second.
    cases = [c.card_id for c in store.cases(limit=10_000) if c.breach_id == bid]
    assert len(cases) == len(set(cases)) and cases_first <= set(cases)
    # The newly exposed cards are flagged for the engine from the later analysis on.
    live = StoreExposure(store)
    card = sorted(new_cards)[0]
    assert not live.flags(card, AS_OF - timedelta(seconds=1)).exposed
    assert live.flags(card, AS_OF).exposed
    old_card = sorted(told_first)[0]
    assert live.flags(old_card, mid).exposed

    # Once more: nothing new to do.
    again = respond(workspace, store, bid, now=NOW, as_of=AS_OF)
    assert (again.exposures_added, again.notices_queued, again.cases_opened) == (0, 0, 0)
    assert len(store.outbox_messages(limit=100_000)) == len(messages)


def test_widening_without_notices_leaves_an_alert_for_the_analysts(
    workspace, breached_world
) -> None:
    """A confirmed, notified breach widened by a run that may not notify (the daily job): the new
    cards are flagged and ranked, and an alert says who has not been told."""
    History(workspace).append(breached_world.table)
    store = MemoryStore()
    mid = datetime(2013, 12, 20, tzinfo=UTC)
    first = respond(workspace, store, "BIGMART", now=mid, as_of=mid)
    bid = first.breach.breach_id
    quiet = respond(workspace, store, "BIGMART", now=NOW, as_of=AS_OF, notify=False)
    assert quiet.exposures_added > 0 and quiet.notices_queued == 0
    assert quiet.untold == quiet.exposures_added
    updates = [a for a in store.alerts(card_id=f"breach:{bid}", limit=10) if a.kind != "breach"]
    assert len(updates) == 1 and updates[0].kind == "breach_update"
    assert f"{quiet.untold} exposed cardholders" in updates[0].reasons[0]["message"]
    told = respond(workspace, store, bid, now=NOW, as_of=AS_OF)
    assert told.notices_queued == quiet.untold and told.untold == 0


def test_cli_says_which_stores_and_narrows_on_request(workspace, breached_world, tmp_path) -> None:
    History(workspace).append(breached_world.table)
    store = open_store(workspace)
    try:
        bid = _hand_recorded(store, "chain", "BIGMART", ["BM1", "BM2"]).breach_id
    finally:
        store.close()
    out = tmp_path / "reissue.csv"
    base = ["breach", "respond", bid, "--home", str(workspace.home), "--as-of", "2013-12-10"]
    narrow = CliRunner().invoke(app, [*base, "--no-notify", "--stores-only"])
    assert narrow.exit_code == 0, narrow.output
    assert "stores covered" in narrow.output and "unique cards exposed" in narrow.output
    assert json.loads(narrow.stdout[narrow.stdout.index("{") :])["stores"] == 2
    whole = CliRunner().invoke(app, [*base, "--whole-chain", "--reissue-out", str(out)])
    assert whole.exit_code == 0, whole.output
    summary = json.loads(whole.stdout[whole.stdout.index("{") :])
    assert (summary["stores"], summary["chain_wide"]) == (5, True)
    assert summary["notices_queued"] == summary["cards"] and summary["untold"] == 0
    assert "every store is taken as breached" in whole.output.replace("\n", " ")
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == summary["cards"] and {r["stores"] for r in rows} == {"5"}
