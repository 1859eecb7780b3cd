"""What the breach pages show: the suspects the store holds, the evidence behind one (which
defrauded cards paid there, when, and when their fraud began and was reported), its exposure
and triage list, and the chart of its story.

Evidence is recomputed from history when there is history (so it reflects labels that arrived
since detection) and otherwise taken from what detection stored with the breach.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cardwatch.server.console.charts import bar_timeline
from cardwatch.server.console.context import Console
from cardwatch.server.console.errors import PageNotFound
from cardwatch.store.records import Breach

__all__ = ["EvidenceRow", "breach_chart", "evidence_rows", "get_breach", "merchant_ids"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    card_id: str
    visited_at: datetime | None
    first_fraud_at: datetime | None
    reported_at: datetime | None
    frauds: int
    fraud_amount: float


def get_breach(console: Console, breach_id: str) -> Breach:
    breach = console.store.get_breach(breach_id)
    if breach is None:
        raise PageNotFound(f"breach {breach_id}")
    return breach


def merchant_ids(breach: Breach) -> list[str]:
    """The stores of a breach: all of a chain's, or the one merchant."""
    ids = breach.evidence.get("merchant_ids") if breach.evidence else None
    return [str(m) for m in ids] if ids else [breach.merchant_id]


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            return None
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t
    return None


def evidence_rows(console: Console, breach: Breach, limit: int = 300) -> list[EvidenceRow]:
    """Defrauded cards that paid at the breached merchant inside the window before their first
    fraud, first frauds first."""
    rows = _from_history(console, breach, limit)
    if rows is not None:
        return rows
    stored = breach.evidence.get("fraud_cards_detail") or []
    out = []
    for item in stored if isinstance(stored, list) else []:
        if isinstance(item, dict) and item.get("card_id"):
            out.append(
                EvidenceRow(
                    str(item["card_id"]),
                    _parse(item.get("visited_at")),
                    _parse(item.get("first_fraud_at")),
                    _parse(item.get("reported_at")),
                    int(item.get("frauds", 0)),
                    float(item.get("amount", 0.0)),
                )
            )
    if not out:
        for card in breach.evidence.get("fraud_card_ids") or []:
            out.append(EvidenceRow(str(card), None, None, None, 0, 0.0))
    return out[:limit]


def _from_history(console: Console, breach: Breach, limit: int) -> list[EvidenceRow] | None:
    try:
        from cardwatch.store.history import History

        history = History(console.ws)
        if history.is_empty():
            return None
        stores = merchant_ids(breach)
        marks = ", ".join("?" for _ in stores)
        sql = f"""
            WITH visits AS (
                SELECT card_id, min(timestamp) AS visited_at FROM transactions
                WHERE merchant_id IN ({marks}) AND timestamp >= ? AND timestamp < ?
                GROUP BY card_id),
            frauds AS (
                SELECT card_id, min(timestamp) AS first_fraud_at,
                       min(fraud_reported_at) AS reported_at, count(*) AS frauds,
                       sum(amount) AS amount
                FROM transactions
                WHERE is_fraud = 1 AND timestamp >= ? AND fraud_reported_at <= ?
                GROUP BY card_id)
            SELECT v.card_id, v.visited_at, f.first_fraud_at, f.reported_at, f.frauds, f.amount
            FROM visits v JOIN frauds f USING (card_id)
            WHERE f.first_fraud_at > v.visited_at
            ORDER BY f.first_fraud_at LIMIT ?"""
        params = [
            *stores,
            breach.window_start,
            breach.window_end,
            breach.window_start,
            console.now(),
            limit,
        ]
        with history.connect() as con:
            # Through Arrow: DuckDB's own row fetch of TIMESTAMPTZ needs pytz.
            table = con.sql(sql, params=params).to_arrow_table()
        found = [tuple(row.values()) for row in table.to_pylist()]
    except Exception:
        log.exception("could not read breach evidence from history")
        return None
    return [EvidenceRow(c, v, f, r, int(n), float(a or 0.0)) for c, v, f, r, n, a in found]


def breach_chart(console: Console, breach: Breach, evidence: list[EvidenceRow]) -> str:
    """The exposure window shaded; visits by defrauded cards, first frauds and reports as bars;
    detection and today as marks."""
    visits = [e.visited_at for e in evidence if e.visited_at]
    frauds = [e.first_fraud_at for e in evidence if e.first_fraud_at]
    reports = [e.reported_at for e in evidence if e.reported_at]
    now = console.now()
    times = [breach.window_start, breach.window_end, breach.detected_at, *visits, *frauds, *reports]
    start = min(times) - timedelta(days=2)
    end = max(max(times), min(now, max(times) + timedelta(days=7))) + timedelta(days=1)
    marks = {"detected": breach.detected_at}
    if start <= now <= end:
        marks["now"] = now
    return bar_timeline(
        start,
        end,
        (breach.window_start, breach.window_end),
        {"visits by defrauded cards": visits, "first frauds": frauds, "reports": reports},
        marks,
    )
