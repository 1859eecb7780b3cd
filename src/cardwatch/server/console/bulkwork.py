"""Bulk actions with a second person's confirmation (four eyes).

Notifying every exposed cardholder of a breach, or reissuing hundreds of cards, is too big for one
click by one person. A supervisor *requests* it; a *different* supervisor approves (or rejects)
it, and only then does it run. A pending request is kept in the store as a case of kind
``bulk_action`` whose events hold the request, the approval and the outcome, so it survives
restarts and lands in the same audit trail as everything else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cardwatch.server.console.context import Console
from cardwatch.server.console.errors import ActionRefused, PageNotFound
from cardwatch.store.base import ConflictError
from cardwatch.store.records import Case, CaseEvent, Control, Exposure, OutboxDraft, User

__all__ = ["BULK_ACTIONS", "PendingBulk", "decide_bulk", "pending_bulk", "request_bulk"]

KIND = "bulk_action"
#: bulk action -> what it does, as the approver reads it
BULK_ACTIONS: dict[str, str] = {
    "notify_exposed": "Notify the exposed cardholders of this breach",
    "reissue_exposed": "Block and reissue the highest-risk exposed cards",
}


@dataclass
class PendingBulk:
    case: Case
    action: str
    breach_id: str
    cards: int
    requested_by: str
    note: str
    outcome: dict[str, Any] | None = None
    top: int | None = None

    @property
    def description(self) -> str:
        return BULK_ACTIONS.get(self.action, self.action)


def _targets(console: Console, breach_id: str, action: str, top: int | None) -> list[Exposure]:
    return console.store.exposures(breach_id, limit=top if action == "reissue_exposed" else None)


def request_bulk(
    console: Console,
    user: User,
    breach_id: str,
    action: str,
    note: str = "",
    top: int | None = None,
) -> PendingBulk:
    if action not in BULK_ACTIONS:
        raise ActionRefused(f"unknown bulk action {action!r}")
    breach = console.store.get_breach(breach_id)
    if breach is None:
        raise PageNotFound(f"breach {breach_id}")
    cards = len(_targets(console, breach_id, action, top))
    if cards == 0:
        raise ActionRefused("this breach has no exposed cards to act on")
    now = console.now()
    case = console.store.open_case(
        Case(kind=KIND, opened_at=now, breach_id=breach_id, priority=200)
    )
    details = {"action": action, "breach_id": breach_id, "cards": cards, "note": note, "top": top}
    console.store.add_case_event(
        CaseEvent(case.case_id, now, user.username, "bulk_requested", details)
    )
    console.audit(
        user.username, "bulk_requested", f"breach:{breach_id}", case_id=case.case_id, **details
    )
    return _pending(console, case)


def _pending(console: Console, case: Case) -> PendingBulk:
    events = console.store.case_events(case.case_id)
    asked = next((e for e in events if e.kind == "bulk_requested"), None)
    if asked is None:
        raise PageNotFound(f"bulk action {case.case_id}")
    done = next((e for e in events if e.kind == "bulk_done"), None)
    d = asked.details
    return PendingBulk(
        case,
        str(d["action"]),
        str(d["breach_id"]),
        int(d["cards"]),
        asked.who,
        str(d.get("note", "")),
        done.details if done else None,
        d.get("top"),
    )


def pending_bulk(console: Console, status: str | None = "open") -> list[PendingBulk]:
    cases = [c for c in console.store.cases(status=status, limit=500) if c.kind == KIND]
    return [_pending(console, c) for c in cases]


def decide_bulk(console: Console, user: User, case_id: str, approve: bool) -> PendingBulk:
    """Approve (and run) or reject a pending bulk action; never by the person who asked."""
    case = console.store.get_case(case_id)
    if case is None or case.kind != KIND:
        raise PageNotFound(f"bulk action {case_id}")
    pending = _pending(console, case)
    if case.status != "open":
        raise ActionRefused("this bulk action was already decided")
    if pending.requested_by == user.username:
        raise ActionRefused("a bulk action needs a second person: someone else must approve it")
    now = console.now()
    verdict = "approved" if approve else "rejected"
    console.store.add_case_event(CaseEvent(case_id, now, user.username, f"bulk_{verdict}"))
    outcome: dict[str, Any] = {"done": 0}
    if approve:
        outcome = _run(console, user, pending, pending.top)
        console.store.add_case_event(CaseEvent(case_id, now, user.username, "bulk_done", outcome))
    console.store.close_case(case_id, now, verdict)
    console.audit(
        user.username,
        f"bulk_{verdict}",
        f"breach:{pending.breach_id}",
        case_id=case_id,
        requested_by=pending.requested_by,
        **outcome,
    )
    return _pending(console, console.store.get_case(case_id) or case)


def _run(console: Console, user: User, pending: PendingBulk, top: int | None) -> dict[str, Any]:
    exposures = _targets(console, pending.breach_id, pending.action, top)
    act: Callable[[Console, User, str, list[Exposure]], int] = (
        _notify if pending.action == "notify_exposed" else _reissue
    )
    done = act(console, user, pending.breach_id, exposures)
    return {"done": done, "action": pending.action}


def _notify(console: Console, user: User, breach_id: str, exposures: list[Exposure]) -> int:
    """The proactive notices of :func:`cardwatch.customer.breach_notices.enqueue_breach_notices`:
    plain words and a signed "am I affected?" link each, not a bare record."""
    from cardwatch.customer.breach_notices import enqueue_breach_notices
    from cardwatch.respond import WHAT_WE_DID

    breach = console.store.get_breach(breach_id)
    try:
        return enqueue_breach_notices(
            console.store,
            breach_id,
            key=console.ws.secret_key(),
            now=console.now(),
            base_url=os.environ.get("CARDWATCH_BASE_URL", "http://127.0.0.1:8000"),
            what_we_did=WHAT_WE_DID,
            merchant_name=breach.merchant_id if breach else None,
            exposures=exposures,
        )
    except ConflictError:
        raise ActionRefused(
            "the exposed cardholders of this breach were already notified"
        ) from None


def _reissue(console: Console, user: User, breach_id: str, exposures: list[Exposure]) -> int:
    now = console.now()
    for e in exposures:
        details = {"by": user.username, "reason": "reissue", "breach_id": breach_id}
        console.store.add_control(Control(e.card_id, "freeze", details, now, now))
    console.store.enqueue(
        [
            OutboxDraft(
                "card_reissued", e.card_id, {"breach_id": breach_id}, customer_id=e.customer_id
            )
            for e in exposures
        ],
        now,
    )
    return len(exposures)
