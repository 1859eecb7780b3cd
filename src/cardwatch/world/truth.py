"""The ground truth of a ``default`` world as a JSON-able dict (written as ``truth.json``).

Benchmarks score detectors against this, not against the labels in the file: the labels are
what the issuer learnt (late, and not for every fraud), the truth is what happened.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa

from cardwatch.world.catalogue import SCENARIOS
from cardwatch.world.compromise import Compromise, exposed_cards
from cardwatch.world.labels import Labels
from cardwatch.world.result import iso

__all__ = ["build_truth"]


def _ids(table: pa.Array, numbers: np.ndarray) -> list[str]:
    return table.take(pa.array(np.sort(numbers).astype(np.int64))).to_pylist()


def _incident(labels: Labels, scenario: str, card_ids: pa.Array) -> dict[str, Any]:
    code = SCENARIOS.index(scenario)
    rows = labels.rows
    sel = rows.scenario == code
    cards = np.unique(rows.card[sel])
    is_vic = np.isin(labels.victims.card, cards)
    return {
        "cards": _ids(card_ids, cards),
        "reported_cards": _ids(card_ids, labels.victims.card[is_vic & labels.reported]),
        "transactions": int(sel.sum()),
        "reported_transactions": int((labels.is_fraud[sel] == 1).sum()),
        "first_fraud_at": iso(rows.ts[sel].min()) if sel.any() else None,
    }


def _compromise(comp: Compromise, labels: Labels, ids: dict[str, pa.Array]) -> dict[str, Any]:
    rows = labels.rows
    honest = rows.take(rows.scenario == 0)
    exposed, _ = exposed_cards(honest, comp.terminals, comp.start, comp.end)
    vic = comp.victims
    is_vic = np.isin(labels.victims.card, vic)
    rep_ts = labels.report_ts[is_vic & labels.reported]
    frauds = np.isin(rows.card, vic) & (rows.scenario == SCENARIOS.index(comp.scenario))
    countries = ids["merchant_country"].take(pa.array(rows.merchant[frauds])).to_pylist()
    return {
        "kind": comp.kind,
        "scenario": comp.scenario,
        "chain": comp.chain,
        "merchant_ids": _ids(ids["merchant"], comp.merchants),
        "terminal_ids": _ids(ids["terminal"], comp.terminals),
        "window_start": iso(comp.start),
        "window_end": iso(comp.end),
        "exposed_cards": _ids(ids["card"], exposed),
        "defrauded_cards": _ids(ids["card"], vic),
        "reported_cards": _ids(ids["card"], labels.victims.card[is_vic & labels.reported]),
        "first_fraud_at": iso(rows.ts[frauds].min()) if frauds.any() else None,
        "first_report_at": iso(rep_ts.min()) if len(rep_ts) else None,
        "fraud_transactions": int(frauds.sum()),
        "reported_fraud_transactions": int((labels.is_fraud[frauds] == 1).sum()),
        "fraud_countries": dict(
            sorted(Counter(countries).items(), key=lambda kv: (-kv[1], kv[0]))
        ),
    }  # fmt: skip


def build_truth(
    comps: list[Compromise],
    labels: Labels,
    ids: dict[str, pa.Array],
    header: dict[str, Any],
) -> dict[str, Any]:
    """``ids`` maps "card", "merchant", "terminal", "merchant_country" to lookup arrays."""
    rows = labels.rows
    by_scenario = {
        (s or "honest"): int((rows.scenario == i).sum()) for i, s in enumerate(SCENARIOS)
    }
    fraud_rows = int((rows.scenario > 0).sum())
    truth: dict[str, Any] = dict(header)
    truth["breaches"] = [_compromise(c, labels, ids) for c in comps if c.kind != "skimmer"]
    truth["skimmers"] = [_compromise(c, labels, ids) for c in comps if c.kind == "skimmer"]
    for s in ("card_testing", "lost_stolen", "phishing"):
        truth[s] = _incident(labels, s, ids["card"])
    truth["stats"] = {
        "transactions": len(rows),
        "transactions_by_scenario": by_scenario,
        "fraud_transactions": fraud_rows,
        "fraud_rate": round(fraud_rows / max(len(rows), 1), 6),
        "labelled_fraud_transactions": int(labels.is_fraud.sum()),
        "unreported_fraud_transactions": int(fraud_rows - labels.is_fraud.sum()),
        "defrauded_cards": len(np.unique(rows.card[rows.scenario > 0])),
        "replacement_cards": len(labels.replaced),
    }
    return truth
