"""What re-responding to a breach and the daily detection job need from the store, on every
backend: a breach widened in place, exposures re-ranked, each card told once per breach (even by
two responses at once), and the last run of a job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cardwatch.customer.links import new_link
from cardwatch.store.base import Store
from cardwatch.store.records import Breach, Exposure, JobRun, OutboxDraft

T0 = datetime(2013, 12, 19, 9, tzinfo=UTC)


def _breach(store: Store) -> Breach:
    b = store.add_breach(Breach("BM0", T0 - timedelta(days=20), T0 - timedelta(days=10), 3.0, T0))
    store.add_exposures(
        Exposure(b.breach_id, f"tok_{i}", risk=float(i), rank=i + 1, customer_id=f"c{i}")
        for i in range(3)
    )
    return b


def _notice(bid: str, card: str) -> tuple[OutboxDraft, object]:
    link = new_link("breach_check", card, {"breach_id": bid}, T0, timedelta(days=30))
    return OutboxDraft("breach_notice", card, {"breach_id": bid}, None, "log"), link


def test_update_breach_keeps_status_and_detection_time(store: Store) -> None:
    b = _breach(store)
    store.set_breach_status(b.breach_id, "notified")
    wider = Breach(
        "BIGMART",
        b.window_start - timedelta(days=2),
        T0,
        9.0,
        T0 + timedelta(days=5),
        status="suspected",
        evidence={"level": "chain"},
        breach_id=b.breach_id,
    )
    assert store.update_breach(wider)
    got = store.get_breach(b.breach_id)
    assert got is not None
    assert (got.merchant_id, got.window_start, got.window_end, got.score) == (
        "BIGMART",
        wider.window_start,
        T0,
        9.0,
    )
    assert got.evidence == {"level": "chain"}
    assert (got.status, got.detected_at) == ("notified", T0)
    assert not store.update_breach(Breach("x", T0, T0, 1.0, T0, breach_id="brc_unknown"))


def test_rerank_changes_rank_and_risk_only(store: Store) -> None:
    b = _breach(store)
    store.add_exposures([Exposure(b.breach_id, "tok_9", 0.0, 4, "c9", added_at=T0)])
    n = store.rerank_exposures(
        [Exposure(b.breach_id, "tok_9", 50.0, 1), Exposure(b.breach_id, "tok_0", 0.0, 4)]
    )
    assert n == 2
    got = store.exposures(b.breach_id)
    assert [e.card_id for e in got] == ["tok_9", "tok_1", "tok_2", "tok_0"]
    assert (got[0].risk, got[0].customer_id, got[0].added_at) == (50.0, "c9", T0)


def test_each_card_is_told_once_per_breach(store: Store) -> None:
    b = _breach(store)
    first = store.enqueue_exposure_notices(
        b.breach_id, [_notice(b.breach_id, "tok_0"), _notice(b.breach_id, "tok_1")], T0
    )
    again = store.enqueue_exposure_notices(
        b.breach_id,
        [_notice(b.breach_id, c) for c in ("tok_0", "tok_1", "tok_2", "tok_unknown")],
        T0 + timedelta(hours=1),
    )
    assert (first, again) == (2, 1)
    messages = store.outbox_messages(limit=100)
    assert sorted(m.card_id for m in messages) == ["tok_0", "tok_1", "tok_2"]
    told = {e.card_id: e.notified_at for e in store.exposures(b.breach_id)}
    assert told == {"tok_0": T0, "tok_1": T0, "tok_2": T0 + timedelta(hours=1)}


def test_last_job_run_is_the_latest_as_of(store: Store) -> None:
    assert store.last_job_run("breach_detect") is None
    for days in (0, 2, 1):
        store.record_job_run(
            JobRun("breach_detect", T0 + timedelta(days=days), T0, {"suspects": days})
        )
    store.record_job_run(JobRun("other", T0 + timedelta(days=9), T0))
    last = store.last_job_run("breach_detect")
    assert last is not None and last.as_of == T0 + timedelta(days=2)
    assert last.details == {"suspects": 2} and last.run_id is not None


def test_migration_counts_cards_of_notified_breaches_as_told(sqlite_engine) -> None:
    """Before 0004 a notified breach had told every exposed card: they must not be told again."""
    from sqlalchemy import insert, select

    from cardwatch.store import tables as t
    from cardwatch.store.database import upgrade

    upgrade(sqlite_engine, "0003")
    rows = [("brc_told", "notified"), ("brc_quiet", "suspected")]
    with sqlite_engine.begin() as conn:
        for bid, status in rows:
            conn.execute(
                insert(t.breaches).values(
                    breach_id=bid,
                    merchant_id="BM0",
                    window_start=T0,
                    window_end=T0,
                    score=1.0,
                    status=status,
                    evidence={},
                    detected_at=T0,
                )
            )
            # Only the columns 0003 had: the new ones do not exist yet.
            conn.execute(
                insert(t.exposures).values(breach_id=bid, card_id="tok_1", risk=0.0, rank=1)
            )
    upgrade(sqlite_engine)
    with sqlite_engine.connect() as conn:
        got = dict(conn.execute(select(t.exposures.c.breach_id, t.exposures.c.notified_at)).all())
    assert got == {"brc_told": T0, "brc_quiet": None}
