"""What an analyst does to a case: open it from an alert, give a verdict, act on the card.

Verdicts become labels — in the store (for the live loop and breach detection) and in the
history's label parts (for training and backtests) — because an analyst's "confirmed fraud" is
the freshest label the issuer ever gets. Card actions become cardholder controls in the store.
Every step is a case event and an audit line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from cardwatch.server.console.alertqueue import case_priority
from cardwatch.server.console.context import Console
from cardwatch.server.console.errors import ActionRefused, PageNotFound
from cardwatch.server.console.queries import find_alert
from cardwatch.store.records import Case, CaseEvent, Control, Label, OutboxDraft, User

__all__ = [
    "CARD_ACTIONS",
    "VERDICTS",
    "act_on_card",
    "close_with_verdict",
    "get_case",
    "open_case_for_alert",
    "write_labels",
]

log = logging.getLogger(__name__)

#: verdict -> (is_fraud, label source)
VERDICTS: dict[str, bool] = {"fraud": True, "legitimate": False}
#: card action -> what it says in the case history
CARD_ACTIONS: dict[str, str] = {
    "freeze": "Card frozen",
    "unfreeze": "Card unfrozen",
    "reissue": "Card blocked and reissued",
    "allow_merchant": "Merchant allowed for this card",
}


def get_case(console: Console, case_id: str) -> Case:
    case = console.store.get_case(case_id)
    if case is None:
        raise PageNotFound(f"case {case_id}")
    return case


def open_case_for_alert(console: Console, user: User, alert_id: str) -> Case:
    """The case an alert belongs to: its own, the card's open case, or a new one."""
    store = console.store
    alert = find_alert(store, alert_id)
    if alert is None:
        raise PageNotFound(f"alert {alert_id}")
    if alert.case_id:
        return get_case(console, alert.case_id)
    now = console.now()
    existing = store.cases(status="open", card_id=alert.card_id, limit=1)
    if existing:
        case = existing[0]
    else:
        exposed = bool(store.exposures_of_card(alert.card_id))
        case = store.open_case(
            Case(
                kind="card",
                opened_at=now,
                card_id=alert.card_id,
                priority=case_priority(alert.score, exposed),
            )
        )
        store.add_case_event(CaseEvent(case.case_id, now, user.username, "opened"))
    store.set_alert_status(alert.alert_id, "in_case", case.case_id)
    store.add_case_event(
        CaseEvent(
            case.case_id,
            now,
            user.username,
            "alert_attached",
            {"alert_id": alert.alert_id, "txn_id": alert.txn_id, "kind": alert.kind},
        )
    )
    console.audit(user.username, "open_case", f"card:{alert.card_id}", case_id=case.case_id)
    return case


def case_txn_ids(console: Console, case: Case) -> list[str]:
    """The transactions the case is about: those of its alerts."""
    alerts = console.store.alerts(card_id=case.card_id, limit=1000) if case.card_id else []
    return [a.txn_id for a in alerts if a.case_id == case.case_id and a.txn_id]


def write_labels(
    console: Console,
    card_id: str,
    txn_ids: Iterable[str],
    is_fraud: bool,
    source: str,
    now: datetime | None = None,
) -> int:
    """Labels into the store and, when there is history, into its label parts."""
    now = now or console.now()
    ids = sorted(set(txn_ids))
    for txn_id in ids:
        console.store.add_label(Label(txn_id, card_id, is_fraud, now, source))
    if ids:
        _append_history_labels(console, ids, is_fraud, source, now)
    return len(ids)


def _append_history_labels(
    console: Console, ids: list[str], is_fraud: bool, source: str, now: datetime
) -> None:
    try:
        import pyarrow as pa

        from cardwatch.store.history import History

        history = History(console.ws)
        if history.is_empty():
            return
        known = set(ids) & history.txn_ids()
        if not known:
            return
        rows = sorted(known)
        table = pa.table(
            {
                "txn_id": pa.array(rows, pa.string()),
                "is_fraud": pa.array([int(is_fraud)] * len(rows), pa.int8()),
                "fraud_reported_at": pa.array([now] * len(rows), pa.timestamp("us", "UTC")),
            }
        )
        history.append_labels(table, source=source)
    except Exception:  # the store's label is the record; history catches up on the next import
        log.exception("could not append analyst labels to history")


def close_with_verdict(
    console: Console, user: User, case: Case, verdict: str, txn_ids: list[str], note: str = ""
) -> int:
    """Confirm fraud or mark legitimate: labels, case closed, its alerts closed."""
    if verdict not in VERDICTS:
        raise ActionRefused(f"unknown verdict {verdict!r}")
    if case.status != "open":
        raise ActionRefused("this case is already closed")
    if case.card_id is None:
        raise ActionRefused("this case has no card to label")
    chosen = txn_ids or case_txn_ids(console, case)
    if not chosen:
        raise ActionRefused("choose at least one transaction to label")
    now = console.now()
    count = write_labels(
        console, case.card_id, chosen, VERDICTS[verdict], f"analyst:{user.username}", now
    )
    store = console.store
    store.add_case_event(
        CaseEvent(
            case.case_id,
            now,
            user.username,
            "verdict",
            {"verdict": verdict, "txn_ids": sorted(set(chosen)), "note": note},
        )
    )
    store.close_case(case.case_id, now, verdict)
    for alert in store.alerts(card_id=case.card_id, limit=1000):
        if alert.case_id == case.case_id or alert.status == "open":
            store.set_alert_status(alert.alert_id, "closed", case.case_id)
    console.audit(
        user.username,
        f"verdict_{verdict}",
        f"card:{case.card_id}",
        case_id=case.case_id,
        txn_ids=sorted(set(chosen)),
        note=note,
    )
    return count


def act_on_card(
    console: Console,
    user: User,
    card_id: str,
    action: str,
    *,
    merchant_id: str = "",
    case: Case | None = None,
    note: str = "",
) -> None:
    """Freeze, unfreeze, reissue, or allow a merchant for one card."""
    if action not in CARD_ACTIONS:
        raise ActionRefused(f"unknown action {action!r}")
    store, now = console.store, console.now()
    details: dict[str, object] = {"by": user.username, "note": note}
    if action == "allow_merchant":
        if not merchant_id.strip():
            raise ActionRefused("name the merchant to allow")
        details["merchant_id"] = merchant_id.strip()
        store.add_control(Control(card_id, "allow_merchant", details, now, now))
    elif action == "freeze":
        store.add_control(Control(card_id, "freeze", details, now, now))
    elif action == "unfreeze":
        for control in store.controls_of(card_id):
            if control.kind == "freeze" and control.active_at(now):
                store.revoke_control(control.control_id, now)
    elif action == "reissue":
        store.add_control(Control(card_id, "freeze", {**details, "reason": "reissue"}, now, now))
        store.enqueue([OutboxDraft("card_reissued", card_id, {"by": user.username})], now)
    if case is not None:
        store.add_case_event(CaseEvent(case.case_id, now, user.username, action, details))
    console.audit(user.username, action, f"card:{card_id}", **details)
