"""A card's timeline for the case view: transactions and the decisions taken on them (with
their reasons), labels, notices sent, the cardholder's replies and controls, and the case's own
events, newest first.

Everything shown identifies the card by its token; any free text passes through ``safe_text`` in
the templates, so a PAN that slipped into a note is still masked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cardwatch.server.console.context import Console
from cardwatch.server.console.queries import labels_of_card, links_of_card
from cardwatch.store.records import Case

__all__ = ["Entry", "card_timeline"]

log = logging.getLogger(__name__)


@dataclass
class Entry:
    """One line of the timeline; ``kind`` picks its style (txn, label, notice, reply, control,
    case)."""

    at: datetime
    kind: str
    title: str
    detail: str = ""
    txn_id: str | None = None
    action: str | None = None
    amount: float | None = None
    currency: str = ""
    merchant: str = ""
    score: float | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    label: str | None = None
    flagged: bool = False


def card_timeline(console: Console, card_id: str, case: Case | None = None) -> list[Entry]:
    store, now = console.store, console.now()
    flagged = {a.txn_id for a in store.alerts(card_id=card_id, limit=1000) if a.txn_id}
    labels = {lab.txn_id: lab for lab in labels_of_card(store, card_id, now)}
    entries: list[Entry] = []
    seen: set[str] = set()
    for rec in store.decisions_for_card(card_id, limit=200):
        d = rec.decision
        seen.add(d.txn_id)
        label = labels.get(d.txn_id)
        entries.append(
            Entry(
                at=rec.timestamp,
                kind="txn",
                title=str(d.action),
                txn_id=d.txn_id,
                action=str(d.action),
                amount=rec.amount,
                currency=rec.currency,
                merchant=rec.merchant_name or rec.merchant_id,
                score=d.score,
                reasons=[{"code": r.code, "message": r.message} for r in d.reasons],
                label=None if label is None else ("fraud" if label.is_fraud else "legitimate"),
                flagged=d.txn_id in flagged,
                detail=f"response {d.response_code}" + (" · reversed" if rec.reversed else ""),
            )
        )
    entries.extend(_history_rows(console, card_id, seen, labels, flagged))
    for lab in labels.values():
        verdict = "fraud" if lab.is_fraud else "legitimate"
        entries.append(
            Entry(
                lab.reported_at,
                "label",
                f"labelled {verdict}",
                f"{lab.source} · txn {lab.txn_id}",
                txn_id=lab.txn_id,
            )
        )
    for msg in store.outbox_messages(card_id=card_id, limit=200):
        entries.append(
            Entry(msg.created_at, "notice", f"notice: {msg.kind}", f"{msg.channel} · {msg.status}")
        )
    for link in links_of_card(store, card_id):
        if link.used_at is not None:
            entries.append(
                Entry(
                    link.used_at,
                    "reply",
                    f"cardholder used link: {link.kind}",
                    _scope_text(link.scope),
                )
            )
    for control in store.controls_of(card_id):
        revoked = f" · revoked {control.revoked_at:%Y-%m-%d %H:%M}" if control.revoked_at else ""
        entries.append(
            Entry(
                control.created_at,
                "control",
                f"control: {control.kind}",
                _scope_text(control.value) + revoked,
            )
        )
    if case is not None:
        for event in store.case_events(case.case_id):
            entries.append(
                Entry(event.at, "case", f"{event.kind} by {event.who}", _scope_text(event.details))
            )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def _scope_text(value: dict[str, Any]) -> str:
    return " · ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, "", [], {}))


def _history_rows(
    console: Console,
    card_id: str,
    seen: set[str],
    labels: dict[str, Any],
    flagged: set[str],
    limit: int = 100,
) -> list[Entry]:
    """The card's latest transactions from history that the store has no decision for."""
    try:
        from cardwatch.store.history import History

        history = History(console.ws)
        if history.is_empty():
            return []
        with history.connect() as con:
            # Through Arrow: DuckDB's own row fetch of TIMESTAMPTZ needs pytz.
            table = con.sql(
                "SELECT txn_id, timestamp, amount, currency, merchant_id, merchant_name, "
                "is_fraud FROM transactions WHERE card_id = ? ORDER BY timestamp DESC LIMIT ?",
                params=[card_id, limit],
            ).to_arrow_table()
        rows = [tuple(row.values()) for row in table.to_pylist()]
    except Exception:
        log.exception("could not read the card's history")
        return []
    out = []
    for txn_id, ts, amount, currency, merchant_id, merchant_name, is_fraud in rows:
        if txn_id in seen:
            continue
        label = labels.get(txn_id)
        verdict = (
            ("fraud" if label.is_fraud else "legitimate")
            if label
            else ("fraud" if is_fraud else None)
        )
        out.append(
            Entry(
                ts,
                "txn",
                "history",
                txn_id=txn_id,
                amount=amount,
                currency=currency or "",
                merchant=merchant_name or merchant_id,
                label=verdict,
                flagged=txn_id in flagged,
            )
        )
    return out
