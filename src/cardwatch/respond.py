"""Apply a breach response to the workspace: the adapter around :mod:`cardwatch.breach.response`.

``cardwatch breach respond`` and ``POST /v1/breaches/{id}/respond`` both call :func:`respond`,
which reads what the service knows (:class:`~cardwatch.live_history.LiveHistory`: the imported
history, the payments decided live since it ends and the store's labels, for detection, exposure
and triage), the store (declines since exposure, what an earlier response already wrote) and
writes the breach, its ranked exposures, the analysts' cases and alerts, the cardholders'
notices and an audit line; the daily detection job (:mod:`cardwatch.server.daily`) calls
:func:`respond_to` with the suspects it finds, without notices.

Responding again — later, when more victims have widened the window — updates the same breach
(found by its key, or as the stored breach whose place and window the new suspect shares): its
window and stores only grow, every exposed card is re-ranked by its risk as of the new analysis,
the newly exposed cards are added (flagged from that analysis on) and told, and nobody already
told is told again (each exposure remembers its notice), nor given a second case.

:class:`StoreExposure` is the engine's ``Exposure`` read from the store, so that the live
service tightens decisions on exposed cards as soon as a response is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import duckdb

from cardwatch.breach import DetectConfig, Suspect, survey
from cardwatch.breach.exposure import exposure, triage
from cardwatch.breach.flags import INACTIVE, ExposureIndex
from cardwatch.breach.response import (
    BLOCK_AND_REISSUE,
    SYSTEM,
    EngineSignals,
    ResponsePlan,
    ResponsePolicy,
    breach_alert,
    breach_record,
    check_message,
    find_breach,
    match_breach,
    merge_suspects,
    plan_response,
    ranked_exposures,
    suspect_of,
    victim_work,
)
from cardwatch.customer.breach_notices import NOTIFIED, enqueue_breach_notices
from cardwatch.engine import ExposureFlags
from cardwatch.errors import NotFoundError
from cardwatch.live_history import LiveHistory
from cardwatch.refresh import Refresher, Runner, in_thread
from cardwatch.schema import Action
from cardwatch.store.base import ConflictError, Store
from cardwatch.store.records import Alert, AuditEntry, Breach, CaseEvent
from cardwatch.workspace import Workspace

__all__ = [
    "WHAT_WE_DID",
    "BreachAnswer",
    "HistorySource",
    "ResponseResult",
    "StoreExposure",
    "check_card",
    "end_of_history",
    "engine_signals",
    "find_suspect",
    "respond",
    "respond_to",
]

#: What the notice says the issuer did, in plain words: true of every exposed card on the day
#: the notice goes out (the engine watches them all; the few to replace are told separately).
WHAT_WE_DID = (
    "We are watching your card more closely and will stop any payment that looks like "
    "misuse. If your card needs replacing, we will tell you first and send you a new one."
)
_STOPPED = {Action.DECLINE.value, Action.CHALLENGE.value}
#: One response at a time in a process: the API and the daily job may respond to one breach at
#: once, and two first responses would record it twice.
_RESPONDING = threading.Lock()


@dataclass(frozen=True, slots=True)
class ResponseResult:
    """What one response did. ``created`` is False when the breach was already stored;
    ``widened`` when this analysis grew its window or stores; ``untold``: exposed cards whose
    holders have not been told (yet) after this response."""

    breach: Breach
    plan: ResponsePlan
    created: bool
    exposures_added: int
    cases_opened: int
    alerts_added: int
    notices_queued: int
    already_notified: bool
    exposures_reranked: int = 0
    widened: bool = False
    untold: int = 0

    def summary(self) -> dict[str, object]:
        """The plan's figures and what was written (the API's answer)."""
        return {
            "breach_id": self.breach.breach_id,
            **self.plan.summary(),
            "created": self.created,
            "widened": self.widened,
            "exposures_added": self.exposures_added,
            "exposures_reranked": self.exposures_reranked,
            "cases_opened": self.cases_opened,
            "alerts_added": self.alerts_added,
            "notices_queued": self.notices_queued,
            "already_notified": self.already_notified,
            "untold": self.untold,
        }


class HistorySource(Protocol):
    """Where the response reads payments: :class:`~cardwatch.live_history.LiveHistory` (the
    imported history, the store's live payments and labels as one relation), or the workspace's
    imported :class:`~cardwatch.store.history.History` alone."""

    def connect(self) -> duckdb.DuckDBPyConnection: ...


def end_of_history(history: HistorySource, default: datetime) -> datetime:
    """The last payment's time (the natural "as of" of an analysis), else ``default``."""
    with history.connect() as con:
        # Through Arrow: DuckDB's own fetch of a TIMESTAMPTZ needs pytz.
        last = con.sql("SELECT max(timestamp) AS t FROM transactions").to_arrow_table()
    value = last.column("t")[0].as_py()
    return value.astimezone(UTC) if value is not None else default


def find_suspect(
    history: HistorySource,
    store: Store,
    ident: str,
    as_of: datetime,
    config: DetectConfig | None = None,
) -> tuple[Suspect, Breach | None]:
    """The suspect named ``ident`` and its stored breach, if any.

    A stored breach id: the breach as stored, widened by what detection as of ``as_of`` now
    says about it (the same place, an overlapping window). Else detection as of ``as_of`` (by
    key, merchant, chain or one of its stores; an alert, or a place held as not yet told apart
    from another, which the analyst may know better), matched to the stored breach it already
    is, if any (:func:`~cardwatch.breach.response.match_breach`). Else a stored breach by key or
    merchant (detection may no longer see an old one)."""
    stored = store.get_breach(ident)
    with history.connect() as con:
        result = survey(con, as_of, config or DetectConfig())
    found = result.suspects
    if stored is not None:
        return _widened(suspect_of(stored), stored, found), stored
    # A place held as not yet told apart from another is no alert, but an analyst who knows
    # which of the two is leaking can respond to it.
    held = [s for h in result.held for s in (h.place, h.rival)]
    for s in [*found, *held]:
        if ident in (s.key, s.merchant_id, s.chain, *s.merchant_ids):
            match = match_breach(store.breaches(), s)
            if match is None:
                return s, None
            return merge_suspects(suspect_of(match), s), match
    breaches = store.breaches()
    stored = find_breach(breaches, ident)
    if stored is not None:
        return _widened(suspect_of(stored), stored, found), stored
    # Name what could have been asked for: a suspect key is only valid as of the analysis that
    # found it (a later --as-of may rank others), which a bare "not found" would not tell.
    raise NotFoundError(
        f"no suspect or breach {ident!r} as of {as_of:%Y-%m-%d} "
        f"(suspects then: {_listed(s.key for s in found)}; "
        f"held, not yet told apart: {_listed(s.key for s in held)}; "
        f"breaches stored: {_listed(f'{b.breach_id} ({b.merchant_id})' for b in breaches)})"
    )


def _listed(names: Iterable[str], most: int = 10) -> str:
    shown = list(names)
    more = f", and {len(shown) - most} more" if len(shown) > most else ""
    return (", ".join(shown[:most]) + more) or "none"


def _widened(suspect: Suspect, stored: Breach, found: list[Suspect]) -> Suspect:
    for s in found:
        if match_breach([stored], s) is stored:
            return merge_suspects(suspect, s)
    return suspect


#: How far before the window the engine's scores of a card make its baseline.
BASELINE = timedelta(days=30)


def engine_signals(
    store: Store, cards: Iterable[str], start: datetime, end: datetime, limit: int
) -> dict[str, EngineSignals]:
    """What the engine said of each card (one store read per card, so at most ``limit`` cards
    are looked at): payments declined or challenged in [start, end], the highest score then,
    and the highest in the :data:`BASELINE` before ``start`` (None when the store has no
    decision of the card then: payments imported as history were not decided live)."""
    out: dict[str, EngineSignals] = {}
    for i, card in enumerate(cards):
        if i >= limit:
            break
        declines, after, before = 0, 0.0, None
        for r in store.decisions_for_card(card, limit=200):
            score = float(r.decision.score)
            if start <= r.timestamp <= end:
                after = max(after, score)
                declines += r.decision.action.value in _STOPPED
            elif start - BASELINE <= r.timestamp < start:
                before = score if before is None else max(before, score)
        if declines or after or before is not None:
            out[card] = EngineSignals(declines, after, before)
    return out


def respond(
    workspace: Workspace,
    store: Store,
    ident: str,
    *,
    now: datetime,
    as_of: datetime | None = None,
    notify: bool = True,
    base_url: str = "http://127.0.0.1:8000",
    key: bytes | None = None,
    config: DetectConfig | None = None,
    policy: ResponsePolicy | None = None,
    chain_wide: bool | None = None,
    max_decision_lookups: int = 100_000,
) -> ResponseResult:
    """Respond to the breach ``ident`` as of ``as_of`` (default: the end of history); ``now``
    stamps what is written (alerts, cases, notices). Idempotent; a later ``as_of`` updates the
    breach (see the module's doc). ``chain_wide`` (default: as the breach was last responded
    to, else True) covers every store of a chain-level suspect; False only its stores with
    victims.

    Reads :class:`~cardwatch.live_history.LiveHistory`: the payments the service decided and
    the fraud reported to the store (``/v1/labels``, analysts, cardholders) by ``as_of`` count
    as the imported ones do."""
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    history = LiveHistory(workspace, store, as_of)
    if as_of is None:  # the end of what the service knows: its last payment, live or imported
        as_of = end_of_history(history, now)
        history = history.known_at(as_of)
    suspect, stored = find_suspect(history, store, ident, as_of, config)
    return respond_to(
        workspace,
        store,
        suspect,
        stored,
        now=now,
        as_of=as_of,
        notify=notify,
        base_url=base_url,
        key=key,
        policy=policy,
        chain_wide=chain_wide,
        max_decision_lookups=max_decision_lookups,
        history=history,
    )


def respond_to(
    workspace: Workspace,
    store: Store,
    suspect: Suspect,
    stored: Breach | None,
    *,
    now: datetime,
    as_of: datetime,
    notify: bool = True,
    base_url: str = "http://127.0.0.1:8000",
    key: bytes | None = None,
    policy: ResponsePolicy | None = None,
    chain_wide: bool | None = None,
    max_decision_lookups: int = 100_000,
    history: HistorySource | None = None,
    who: str = SYSTEM,
) -> ResponseResult:
    """Respond to ``suspect`` (already merged with ``stored``, its breach if recorded)."""
    policy = policy or ResponsePolicy()
    history = history or LiveHistory(workspace, store, as_of)
    with _RESPONDING:
        if stored is not None:
            stored = store.get_breach(stored.breach_id) or stored
        if chain_wide is None:
            chain_wide = bool((stored.evidence if stored else {}).get("chain_wide", True))
        with history.connect() as con:
            exp = exposure(con, suspect, chain_wide=chain_wide)
            ranked = triage(con, exp, as_of)
        signals = engine_signals(
            store, exp.cards, suspect.window_start, as_of, max_decision_lookups
        )
        plan = plan_response(suspect, exp, ranked, as_of, signals=signals, policy=policy)

        widened = False
        if stored is None:
            breach = store.add_breach(breach_record(plan))
        else:
            breach = _update(store, stored, plan)
            widened = _grew(stored, breach)
        bid = breach.breach_id
        known = store.exposures(bid)
        fresh, moved = ranked_exposures(
            plan, bid, known, added_at=as_of if stored is not None else None
        )
        if fresh:
            store.add_exposures(fresh)
        if moved:
            store.rerank_exposures(moved)

        alerts = 0
        if not store.alerts(card_id=f"breach:{bid}", limit=1):
            store.add_alert(breach_alert(plan, bid, now))
            alerts += 1
        work = _open_victim_cases(store, plan, bid, now, policy)
        alerts += len(work)

        was_notified = stored is not None and stored.status == NOTIFIED
        queued = 0
        if notify:
            try:
                queued = enqueue_breach_notices(
                    store,
                    bid,
                    key=key if key is not None else workspace.secret_key(),
                    now=now,
                    base_url=base_url,
                    what_we_did=WHAT_WE_DID,
                    merchant_name=suspect.chain or suspect.merchant_id,
                )
            except ConflictError:
                queued = 0  # every exposed card was already told
        untold = sum(1 for e in store.exposures(bid) if e.notified_at is None)
        if not notify and was_notified and fresh and untold:
            # The breach was confirmed and its cardholders told; the cards a wider window brought
            # in wait for a person to say so (respond again, or the console's notify).
            store.add_alert(_untold_alert(plan, bid, now, len(fresh), untold))
            alerts += 1
        result = ResponseResult(
            store.get_breach(bid) or breach,
            plan,
            stored is None,
            len(fresh),
            len(work),
            alerts,
            queued,
            was_notified,
            len(moved),
            widened,
            untold,
        )
        store.append_audit(
            AuditEntry(who, "breach_respond", f"breach:{bid}", now, details=result.summary())
        )
        return result


def _update(store: Store, stored: Breach, plan: ResponsePlan) -> Breach:
    """The stored breach with the new analysis's place, window and figures (its status, first
    detection and any other evidence kept)."""
    record = breach_record(plan, breach_id=stored.breach_id)
    record.evidence = {
        **stored.evidence,
        **record.evidence,
        "first_as_of": stored.evidence.get("first_as_of", stored.detected_at.isoformat()),
    }
    record.detected_at, record.status = stored.detected_at, stored.status
    store.update_breach(record)
    return record


def _grew(before: Breach, after: Breach) -> bool:
    stores = set((before.evidence or {}).get("exposed_merchant_ids") or [before.merchant_id])
    return (
        after.window_start < before.window_start
        or after.window_end > before.window_end
        or not set(after.evidence.get("exposed_merchant_ids") or []) <= stores
    )


def _open_victim_cases(
    store: Store, plan: ResponsePlan, bid: str, now: datetime, policy: ResponsePolicy
) -> list[tuple[object, Alert]]:
    worked = _cards_with_cases(store, bid)
    work = victim_work(plan, bid, now, policy, already=worked)
    by_card = {c.card_id: c for c in plan.cards}
    for case, alert in work:
        store.open_case(case)
        card = by_card[case.card_id or ""]
        store.add_case_event(
            CaseEvent(
                case.case_id,
                now,
                SYSTEM,
                "opened",
                {
                    "breach_id": bid,
                    "rank": card.rank,
                    "risk": round(card.risk, 2),
                    "fraud_reported": card.fraud_reported,
                    "action": BLOCK_AND_REISSUE,
                },
            )
        )
        store.add_alert(alert)
    return list(work)


def _untold_alert(plan: ResponsePlan, bid: str, now: datetime, added: int, untold: int) -> Alert:
    s = plan.suspect
    message = (
        f"Breach at {s.merchant_id} widened to {s.window_start:%Y-%m-%d} – "
        f"{s.window_end:%Y-%m-%d}: {added} more cards exposed; {untold} exposed cardholders "
        "not yet told (respond again, or notify from the console)."
    )
    return Alert(
        card_id=f"breach:{bid}",
        kind="breach_update",
        created_at=now,
        score=1.0,
        reasons=[{"code": "breach_widened", "message": message}],
    )


def _cards_with_cases(store: Store, breach_id: str) -> set[str]:
    return {
        c.card_id
        for c in store.cases(limit=1_000_000)
        if c.breach_id == breach_id and c.kind == "breach_victim" and c.card_id
    }


# ---- "am I affected?" through the issuer's own app --------------------------------------------


@dataclass(frozen=True, slots=True)
class BreachAnswer:
    """The same fields whether or not the card is exposed, or even known: the answer must not
    tell a card thief more than the cardholder's question needs."""

    breach_id: str
    merchant_id: str
    window_start: datetime
    window_end: datetime
    affected: bool
    message: str


def check_card(store: Store, breach_id: str, card_id: str, now: datetime) -> BreachAnswer:
    """Whether ``card_id`` (a token: the caller authenticated the cardholder) was exposed by
    the breach, audited like the signed-link check. ``NotFoundError`` only for an unknown
    breach — never for an unknown card."""
    breach = store.get_breach(breach_id)
    if breach is None:
        raise NotFoundError(f"no breach {breach_id}")
    exposed = any(e.breach_id == breach_id for e in store.exposures_of_card(card_id))
    frozen = exposed and any(
        c.kind == "freeze" and c.active_at(now) for c in store.controls_of(card_id)
    )
    store.append_audit(
        AuditEntry("issuer_app", "breach_check", f"card:{card_id}", now, {"breach_id": breach_id})
    )
    return BreachAnswer(
        breach_id,
        breach.merchant_id,
        breach.window_start,
        breach.window_end,
        exposed,
        check_message(exposed, frozen),
    )


# ---- the engine's view -------------------------------------------------------------------------


class StoreExposure:
    """The engine's ``Exposure`` from the store's breaches and exposures.

    The whole exposed set is held in process as an :class:`ExposureIndex`: every payment asks,
    nearly every card is unexposed, and a dict lookup is what a decision can afford; a store
    query per payment is not. After ``ttl_seconds`` the set is reloaded off the deciding
    thread (it keeps answering meanwhile); :meth:`invalidate`, which :func:`respond`'s callers
    use from their worker threads, reloads it at once so the engine tightens without waiting.
    """

    def __init__(
        self,
        store: Store,
        ttl_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        refresh: Runner = in_thread,
    ) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._index: ExposureIndex | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        self._refresher = Refresher(refresh)

    def flags(self, card_id: str, at: datetime) -> ExposureFlags:
        return self.index().flags(card_id, at)

    def card_ids(self) -> Collection[str]:
        return self.index().card_ids()

    def invalidate(self) -> None:
        """Reload the exposed set now, in the caller's thread."""
        self._reload()

    def index(self) -> ExposureIndex:
        """The current index: loaded on first use, reloaded in the background when stale."""
        index = self._index
        if index is None:
            return self._reload()
        if self.clock() - self._loaded_at >= self.ttl_seconds:
            self._refresher.request("exposure", self._reload)
            fresh = self._index  # a reload run in this thread has just replaced it
            return index if fresh is None else fresh
        return index

    def _reload(self) -> ExposureIndex:
        # One reload at a time, so an older read cannot overwrite a newer one.
        with self._lock:
            now = self.clock()
            breaches = [b for b in self.store.breaches() if b.status not in INACTIVE]
            index = ExposureIndex.build((b, self.store.exposures(b.breach_id)) for b in breaches)
            self._index, self._loaded_at = index, now
            return index
            breaches = [b for b in self.store.breaches() if b.status not in INACTIVE]
            self._index = ExposureIndex.build(
                (b, self.store.exposures(b.breach_id)) for b in breaches
            )
            self._loaded_at = now
            return self._index
