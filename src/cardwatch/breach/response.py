"""The plan of a breach response: what to do about each exposed card, and what to record.

Most cards caught in a breach are never misused (Visa sees counterfeit fraud on about 0.16% of
the accounts in a qualifying event), so the response is triage, not mass panic. Cards with real
evidence of a thief — fraud reported, a counterfeit-pattern payment (magstripe or fallback
abroad), repeated declines or challenges by the engine, or a model score since exposure far above
the card's own before — are blocked and reissued and go to an analyst first. Cards with weaker
signs (one decline, a card-present payment in a new country, a higher score) are reissued in the
second wave. The rest are watched harder by the decision engine, told, and reissued in later
waves by rank: ordinary shopping after a breach (online payments, a larger purchase) never blocks
a card. This module turns a suspect, its exposure and the triage ranking into
that plan and into the plain records the operational store keeps (breach, exposures, alerts,
cases). It is pure: time comes in as arguments, and :mod:`cardwatch.respond` does the I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cardwatch.breach.exposure import Exposure, TriageRow
from cardwatch.breach.suspect import Suspect
from cardwatch.store.records import Alert, Breach, Case
from cardwatch.store.records import Exposure as ExposureRecord

__all__ = [
    "ACTIONS",
    "BLOCK_AND_REISSUE",
    "MONITOR",
    "REISSUE",
    "REISSUE_COLUMNS",
    "SYSTEM",
    "EngineSignals",
    "PlannedCard",
    "ResponsePlan",
    "ResponsePolicy",
    "breach_alert",
    "breach_record",
    "case_priority",
    "check_message",
    "classify",
    "exposure_records",
    "find_breach",
    "match_breach",
    "merge_suspects",
    "plan_response",
    "ranked_exposures",
    "suspect_of",
    "victim_work",
]

BLOCK_AND_REISSUE = "block_and_reissue"
REISSUE = "reissue"
MONITOR = "monitor"
ACTIONS = (BLOCK_AND_REISSUE, REISSUE, MONITOR)
#: The reissue plan CSV's header, in order.
REISSUE_COLUMNS = (
    "rank",
    "card_id",
    "customer_id",
    "action",
    "risk",
    "fraud_reported",
    "magstripe_abroad",
    "card_not_present",
    "declines",
    "new_countries",
    "score_after",
    "wave",
    "breach",
    "stores",
    "window_start",
    "window_end",
)
#: Who the records written by a response are attributed to in cases and the audit trail.
SYSTEM = "cardwatch"


@dataclass(frozen=True, slots=True)
class EngineSignals:
    """What the decision engine said about one exposed card, from the store of decisions:
    payments it declined or challenged since the window opened, its highest score since then,
    and its highest score before (None: no decision of the card before the window is known).

    >>> EngineSignals(0, 0.8, 0.1).jump, EngineSignals(0, 0.8, None).jump
    (0.7, 0.0)
    """

    declines: int = 0
    score_after: float = 0.0
    score_before: float | None = None

    @property
    def jump(self) -> float:
        """How far the score since exposure rose above the card's own before (0 without a
        before: a card the engine never saw has no baseline to rise above)."""
        if self.score_before is None:
            return 0.0
        return round(max(self.score_after - self.score_before, 0.0), 6)


_NO_SIGNALS = EngineSignals()


@dataclass(frozen=True, slots=True)
class ResponsePolicy:
    """The knobs of the plan (tuned with ``bench/bench_triage.py`` on one simulated world,
    reported on another; see docs/breach.md).

    Block and reissue (wave 1) takes real evidence of a thief: fraud reported; a
    counterfeit-pattern payment (magstripe or fallback abroad); ``block_declines`` payments
    declined or challenged since the window opened; a score since exposure of at least
    ``block_score`` that is ``block_jump`` above the card's own highest before; or a risk of
    ``high_risk`` (reached only by such evidence together). Fewer declines reissue (wave 2):
    in the simulated worlds the engine declines or challenges honest exposed cards about as
    often as victims not yet reported (two declines blocked 8 honest cards for 1 victim in the
    world of seed 11), and one decline with a card-present payment in a new country blocked only
    an honest traveller in the tuning world (seed 7).
    ``reissue_risk``: at or above it the card is reissued in wave 2 (one decline, a new country,
    a raised score); below it the card is monitored and reissued in later waves by rank.
    ``decline_weight``: risk per payment declined or challenged since the window opened;
    ``jump_weight``: risk per unit of score jump.
    ``wave_size``: cards per later reissue wave (a card factory and a call centre have a pace).
    ``max_cases``: at most this many cases are opened per response, victims first (a queue of a
    million cases is no queue); the rest stay reachable through the ranked exposure list.

    >>> ResponsePolicy().high_risk
    60.0
    """

    high_risk: float = 60.0
    reissue_risk: float = 5.0
    decline_weight: float = 5.0
    block_declines: int = 3
    block_score: float = 0.5
    block_jump: float = 0.3
    jump_weight: float = 20.0
    wave_size: int = 1000
    max_cases: int = 1000


def classify(
    fraud_reported: int,
    magstripe_abroad: int,
    risk: float,
    policy: ResponsePolicy,
    *,
    signals: EngineSignals = _NO_SIGNALS,
) -> str:
    """The action for one card (``risk`` includes the engine's signals).

    >>> p = ResponsePolicy()
    >>> classify(1, 0, 100.0, p), classify(0, 1, 30.0, p), classify(0, 0, 6.0, p)
    ('block_and_reissue', 'block_and_reissue', 'reissue')
    >>> classify(0, 0, 2.0, p)  # ordinary shopping since the breach
    'monitor'
    >>> classify(0, 0, 15.0, p, signals=EngineSignals(3)), classify(0, 0, 10.0, p,
    ...     signals=EngineSignals(2))
    ('block_and_reissue', 'reissue')
    >>> classify(0, 0, 14.0, p, signals=EngineSignals(0, 0.9, 0.05))
    'block_and_reissue'
    """
    if fraud_reported or magstripe_abroad or risk >= policy.high_risk:
        return BLOCK_AND_REISSUE
    if signals.declines >= policy.block_declines:
        return BLOCK_AND_REISSUE
    if signals.score_after >= policy.block_score and signals.jump >= policy.block_jump:
        return BLOCK_AND_REISSUE
    if risk >= policy.reissue_risk:
        return REISSUE
    return MONITOR


def case_priority(rank: int) -> int:
    """A victim case's priority (higher first) from its triage rank: above the console's
    exposed-card cases (100–150) for the top of the list, never below them.

    >>> case_priority(1), case_priority(50), case_priority(5000)
    (199, 150, 101)
    """
    return max(101, 200 - rank)


@dataclass(frozen=True, slots=True)
class PlannedCard:
    """One exposed card: its rank (1 first), the evidence and the action."""

    rank: int
    card_id: str
    customer_id: str | None
    risk: float
    action: str
    fraud_reported: int
    magstripe_abroad: int
    card_not_present: int
    declines: int
    amount_spike: float
    payments_since: int
    new_countries: int = 0
    score_after: float = 0.0
    #: Reissue wave: 1 block and reissue, 2 reissue, 3 and on the monitored cards by rank.
    wave: int = 3

    @property
    def victim(self) -> bool:
        """Fraud already reported on the card since the window opened."""
        return self.fraud_reported > 0

    def to_row(
        self, suspect_key: str, window_start: datetime, window_end: datetime, stores: int = 1
    ) -> dict[str, Any]:
        """A row of the reissue-plan CSV."""
        return {
            "rank": self.rank,
            "card_id": self.card_id,
            "customer_id": self.customer_id,
            "action": self.action,
            "risk": round(self.risk, 2),
            "fraud_reported": self.fraud_reported,
            "magstripe_abroad": self.magstripe_abroad,
            "card_not_present": self.card_not_present,
            "declines": self.declines,
            "new_countries": self.new_countries,
            "score_after": round(self.score_after, 4),
            "wave": self.wave,
            "breach": suspect_key,
            "stores": stores,
            "window_start": window_start.isoformat(),
            "window_end": window_end.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """What to do about one breach, card by card, most at risk first. ``merchant_ids`` are the
    stores whose payments in the window exposed a card: all of a chain's when ``chain_wide``."""

    suspect: Suspect
    as_of: datetime
    data_stolen: str
    cards: tuple[PlannedCard, ...]
    customers: int
    transactions: int
    merchant_ids: tuple[str, ...] = ()
    chain_wide: bool = False

    @property
    def stores(self) -> int:
        """Stores covered by the exposure."""
        return len(self.merchant_ids or self.suspect.merchant_ids)

    @property
    def scope(self) -> str:
        """Which stores the exposure covers, and why, in plain words.

        >>> from datetime import UTC
        >>> t = datetime(2013, 12, 1, tzinfo=UTC)
        >>> s = Suspect("BIGMART", "chain", "BIGMART", ("a", "b"), (), t, t, 3.0, 1e-3, 3, 9,
        ...             0.1, t, 1.0, 10)
        >>> ResponsePlan(s, t, "track", (), 0, 0, ("a", "b", "c"), True).scope[:44]
        'all 3 stores of the chain BIGMART: the evide'
        """
        s = self.suspect
        victims = len(s.merchant_ids)
        if self.chain_wide:
            return (
                f"all {self.stores} stores of the chain {s.chain or s.merchant_id}: the evidence "
                f"points at the chain (victims at {victims} of its stores so far), so every "
                "store is taken as breached"
            )
        if s.level == "chain":
            return (
                f"the {self.stores} stores of the chain {s.chain or s.merchant_id} with victims "
                "(narrowed by the analyst; the chain's other stores are not covered)"
            )
        return f"the store {s.merchant_id}"

    @property
    def counts(self) -> dict[str, int]:
        """Cards per action (every action present, zero included)."""
        found = Counter(c.action for c in self.cards)
        return {a: found.get(a, 0) for a in ACTIONS}

    @property
    def victims(self) -> int:
        return sum(1 for c in self.cards if c.victim)

    @property
    def counterfeit_risk(self) -> bool:
        """Track data was taken: counterfeit card-present use is what to stop."""
        return self.data_stolen == "track"

    def rows(self) -> list[dict[str, Any]]:
        """The reissue plan as CSV rows, by rank."""
        s = self.suspect
        return [c.to_row(s.key, s.window_start, s.window_end, self.stores) for c in self.cards]

    def summary(self) -> dict[str, Any]:
        """The figures a person wants first: people, not transactions."""
        return {
            "breach": self.suspect.key,
            "merchant_id": self.suspect.merchant_id,
            "window_start": self.suspect.window_start.isoformat(),
            "window_end": self.suspect.window_end.isoformat(),
            "data_stolen": self.data_stolen,
            "level": self.suspect.level,
            "stores": self.stores,
            "stores_with_victims": len(self.suspect.merchant_ids),
            "chain_wide": self.chain_wide,
            "scope": self.scope,
            "cards": len(self.cards),
            "customers": self.customers,
            "transactions": self.transactions,
            "victims": self.victims,
            "plan": self.counts,
        }


def plan_response(
    suspect: Suspect,
    exposed: Exposure,
    ranked: Iterable[TriageRow],
    as_of: datetime,
    *,
    declines: Mapping[str, int] | None = None,
    signals: Mapping[str, EngineSignals] | None = None,
    policy: ResponsePolicy | None = None,
) -> ResponsePlan:
    """The plan from :func:`~cardwatch.breach.exposure.triage`'s rows, re-ranked with what the
    engine said of each card since the window opened (``signals``, where known; ``declines``
    alone is the older form), each card given its action and reissue wave.

    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> s = Suspect("m1", "store", None, ("m1",), (), t, t, 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 10)
    >>> rows = [TriageRow("c1", "u1", 0.0, 0, 0, 0, 0.0, 3),
    ...         TriageRow("c2", "u2", 0.0, 0, 0, 0, 0.0, 1)]
    >>> plan = plan_response(s, Exposure(("m1",), t, t, ("c1", "c2"), 2, 4), rows, t,
    ...                      declines={"c2": 1})
    >>> [(c.rank, c.card_id, c.action, c.wave) for c in plan.cards]
    [(1, 'c2', 'reissue', 2), (2, 'c1', 'monitor', 3)]
    """
    policy = policy or ResponsePolicy()
    known = dict(signals or {})
    for card, d in (declines or {}).items():
        old = known.get(card, _NO_SIGNALS)
        known[card] = EngineSignals(int(d), old.score_after, old.score_before)
    scored = []
    for r in ranked:
        sig = known.get(r.card_id, _NO_SIGNALS)
        risk = r.risk + policy.decline_weight * sig.declines + policy.jump_weight * sig.jump
        action = classify(
            r.fraud_reported,
            r.magstripe_abroad,
            risk,
            policy,
            signals=sig,
        )
        scored.append((ACTIONS.index(action), -risk, -r.payments_since, r.card_id, risk, sig, r))
    scored.sort(key=lambda x: x[:4])
    cards = []
    later = 0
    for i, (order, _, _, _, risk, sig, r) in enumerate(scored, start=1):
        if order < 2:
            wave = order + 1
        else:
            wave = 3 + later // max(policy.wave_size, 1)
            later += 1
        cards.append(
            PlannedCard(
                rank=i,
                card_id=r.card_id,
                customer_id=r.customer_id,
                risk=risk,
                action=ACTIONS[order],
                fraud_reported=r.fraud_reported,
                magstripe_abroad=r.magstripe_abroad,
                card_not_present=r.card_not_present,
                declines=sig.declines,
                amount_spike=r.amount_spike,
                payments_since=r.payments_since,
                new_countries=r.new_countries,
                score_after=sig.score_after,
                wave=wave,
            )
        )
    return ResponsePlan(
        suspect,
        as_of,
        exposed.data_stolen,
        tuple(cards),
        exposed.customers,
        exposed.transactions,
        exposed.merchant_ids,
        exposed.chain_wide,
    )


# ---- records for the operational store -------------------------------------------------------


def find_breach(breaches: Iterable[Breach], key: str) -> Breach | None:
    """The stored breach of a suspect (by :attr:`Suspect.key`, then merchant or chain name),
    so that responding twice updates one breach instead of creating a second.

    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> b = Breach("BIGMART", t, t, 9.0, t, evidence={"key": "chain:BIGMART"})
    >>> find_breach([b], "chain:BIGMART") is b, find_breach([b], "BIGMART") is b
    (True, True)
    >>> find_breach([b], "store:X") is None
    True
    """
    found = list(breaches)
    for b in found:
        if b.evidence.get("key") == key or b.breach_id == key:
            return b
    for b in found:
        if b.merchant_id == key:
            return b
    return None


#: How far apart a new suspect's window and a stored breach's may be and still be one breach:
#: successive runs see a window grow from the first victims' visits, never jump.
MATCH_SLACK = timedelta(days=2)


def _places(level: str, merchant_id: str, chain: str | None, stores: Iterable[str]) -> set[str]:
    out = {f"store:{m}" for m in stores}
    if level == "chain":
        out.add(f"chain:{chain or merchant_id}")
    else:
        out.add(f"store:{merchant_id}")
    return out


def _breach_places(b: Breach) -> set[str]:
    ev = b.evidence or {}
    stores = [*(ev.get("merchant_ids") or []), *(ev.get("exposed_merchant_ids") or [])]
    return _places(str(ev.get("level", "store")), b.merchant_id, ev.get("chain"), map(str, stores))


def match_breach(
    breaches: Iterable[Breach], suspect: Suspect, slack: timedelta = MATCH_SLACK
) -> Breach | None:
    """The stored breach a detected suspect is (already alerted): one whose window overlaps the
    suspect's (within ``slack``) and which names the same chain or one of the same stores — by
    key first, then by the best score. A chain found after one of its stores, or a store of a
    chain already stored, is the same breach; the same shop a year later is a new one.

    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> b = Breach("BIGMART", t, t + timedelta(days=3), 9.0, t,
    ...            evidence={"key": "chain:BIGMART", "level": "chain", "merchant_ids": ["BM1"],
    ...                      "exposed_merchant_ids": ["BM1", "BM2"]})
    >>> s = Suspect("BM2", "store", "BIGMART", ("BM2",), (), t + timedelta(days=2),
    ...             t + timedelta(days=9), 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 10)
    >>> match_breach([b], s) is b
    True
    >>> later = Suspect("BM2", "store", None, ("BM2",), (), t + timedelta(days=300),
    ...                 t + timedelta(days=309), 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 10)
    >>> match_breach([b], later) is None
    True
    """
    mine = _places(suspect.level, suspect.merchant_id, suspect.chain, suspect.merchant_ids)
    found = []
    for b in breaches:
        if b.window_start > suspect.window_end + slack:
            continue
        if suspect.window_start > b.window_end + slack:
            continue
        same_key = (b.evidence or {}).get("key") == suspect.key
        if same_key or mine & _breach_places(b):
            found.append((not same_key, -b.score, b.breach_id, b))
    return min(found, key=lambda x: x[:3])[3] if found else None


def merge_suspects(old: Suspect, new: Suspect) -> Suspect:
    """One breach seen by two analyses: the broader place (a chain over one of its stores), the
    union of the windows and stores (exposure never shrinks: a card told it was exposed stays
    exposed), and the detection figures of the newer analysis.

    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> a = Suspect("BIGMART", "chain", "BIGMART", ("BM1", "BM2"), (), t, t + timedelta(days=3),
    ...             9.0, 1e-9, 5, 90, 0.1, t, 1.0, 10, ("c1",))
    >>> b = Suspect("BM3", "store", "BIGMART", ("BM3",), (), t - timedelta(days=1),
    ...             t + timedelta(days=2), 4.0, 1e-4, 3, 40, 0.1, t, 1.0, 10, ("c2",))
    >>> m = merge_suspects(a, b)
    >>> m.key, m.merchant_ids, m.window_start == b.window_start, m.fraud_card_ids
    ('chain:BIGMART', ('BM3', 'BM1', 'BM2'), True, ('c2', 'c1'))
    """
    broad = old if old.level == "chain" and new.level != "chain" else new
    stores = new.merchant_ids + tuple(m for m in old.merchant_ids if m not in new.merchant_ids)
    terminals = new.terminal_ids + tuple(t for t in old.terminal_ids if t not in new.terminal_ids)
    frauds = new.fraud_card_ids + tuple(
        c for c in old.fraud_card_ids if c not in set(new.fraud_card_ids)
    )
    return Suspect(
        merchant_id=broad.merchant_id,
        level=broad.level,
        chain=broad.chain or new.chain or old.chain,
        merchant_ids=stores,
        terminal_ids=terminals,
        window_start=min(old.window_start, new.window_start),
        window_end=max(old.window_end, new.window_end),
        score=new.score,
        p_value=new.p_value,
        fraud_cards=new.fraud_cards,
        exposed_cards=new.exposed_cards,
        expected_fraud_cards=new.expected_fraud_cards,
        first_fraud_at=min(old.first_fraud_at, new.first_fraud_at),
        blame=new.blame,
        places_tested=new.places_tested,
        fraud_card_ids=frauds,
        ongoing=new.ongoing,
        basis=new.basis,
    )


def breach_record(plan: ResponsePlan, *, breach_id: str | None = None) -> Breach:
    """The breach as stored: the suspect's detection figures as evidence (what the console
    shows), with the data stolen and the exposure counted in people. ``detected_at`` is the
    analysis moment: from then on the issuer knew, which is when replay starts honouring it."""
    s = plan.suspect
    evidence = {
        **s.to_dict(),
        "key": s.key,
        "fraud_card_ids": list(s.fraud_card_ids),
        "data_stolen": plan.data_stolen,
        "exposed_customers": plan.customers,
        "exposed_transactions": plan.transactions,
        "exposed_cards": len(plan.cards),
        "victims": plan.victims,
        "plan": plan.counts,
        "exposed_merchant_ids": list(plan.merchant_ids or s.merchant_ids),
        "stores": plan.stores,
        "chain_wide": plan.chain_wide,
        "scope": plan.scope,
        "as_of": plan.as_of.isoformat(),
    }
    extra = {"breach_id": breach_id} if breach_id else {}
    return Breach(
        merchant_id=s.merchant_id,
        window_start=s.window_start,
        window_end=s.window_end,
        score=s.score,
        detected_at=plan.as_of,
        evidence=evidence,
        **extra,
    )


def exposure_records(
    plan: ResponsePlan,
    breach_id: str,
    known: Collection[str] = (),
    start_rank: int = 0,
    added_at: datetime | None = None,
) -> list[ExposureRecord]:
    """Exposure rows for the cards not yet stored (``known``), ranked after ``start_rank``:
    a second response adds the cards a wider window brought in, and never duplicates one."""
    fresh = [c for c in plan.cards if c.card_id not in known]
    return [
        ExposureRecord(
            breach_id,
            c.card_id,
            round(c.risk, 4),
            start_rank + i,
            c.customer_id,
            added_at=added_at,
        )
        for i, c in enumerate(fresh, start=1)
    ]


def ranked_exposures(
    plan: ResponsePlan,
    breach_id: str,
    known: Iterable[ExposureRecord],
    added_at: datetime | None = None,
) -> tuple[list[ExposureRecord], list[ExposureRecord]]:
    """A later response's exposure: every card ranked by the new plan (risk as of the new
    analysis), the stored cards the plan no longer lists after them in their old order.
    Returns ``(fresh, moved)``: rows for the cards not yet stored (``added_at`` the moment
    they were found), and the stored rows whose rank or risk changed.

    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> s = Suspect("m1", "store", None, ("m1",), (), t, t, 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 10)
    >>> rows = [TriageRow("c2", "u2", 100.0, 1, 0, 0, 0.0, 3),
    ...         TriageRow("c1", "u1", 0.0, 0, 0, 0, 0.0, 1)]
    >>> plan = plan_response(s, Exposure(("m1",), t, t, ("c1", "c2"), 2, 4), rows, t)
    >>> fresh, moved = ranked_exposures(plan, "b", [ExposureRecord("b", "c1", 0.0, 1)], t)
    >>> [(e.card_id, e.rank) for e in fresh], [(e.card_id, e.rank) for e in moved]
    ([('c2', 1)], [('c1', 2)])
    """
    stored = {e.card_id: e for e in known}
    fresh: list[ExposureRecord] = []
    moved: list[ExposureRecord] = []
    rank = 0
    for c in plan.cards:
        rank += 1
        risk = round(c.risk, 4)
        old = stored.pop(c.card_id, None)
        if old is None:
            fresh.append(
                ExposureRecord(breach_id, c.card_id, risk, rank, c.customer_id, added_at=added_at)
            )
        elif (old.rank, old.risk) != (rank, risk):
            moved.append(ExposureRecord(breach_id, c.card_id, risk, rank, old.customer_id))
    for old in sorted(stored.values(), key=lambda e: (e.rank, e.card_id)):
        rank += 1
        if old.rank != rank:
            moved.append(ExposureRecord(breach_id, old.card_id, old.risk, rank, old.customer_id))
    return fresh, moved


def breach_alert(plan: ResponsePlan, breach_id: str, now: datetime) -> Alert:
    """The one alert for the breach itself (its "card" is the breach, for the queue's sake)."""
    s = plan.suspect
    message = (
        f"Suspected breach at {s.merchant_id}: {len(plan.cards)} cards "
        f"({plan.customers} customers) exposed {s.window_start:%Y-%m-%d} – "
        f"{s.window_end:%Y-%m-%d}; {plan.victims} already defrauded."
    )
    return Alert(
        card_id=f"breach:{breach_id}",
        kind="breach",
        created_at=now,
        score=1.0,
        reasons=[{"code": "breach_detected", "message": message}],
    )


def victim_work(
    plan: ResponsePlan,
    breach_id: str,
    now: datetime,
    policy: ResponsePolicy | None = None,
    already: Collection[str] = (),
) -> list[tuple[Case, Alert]]:
    """A case and an open alert pointing at it for each card to block and reissue, victims
    first and by rank, skipping cards that already have one (``already``). The alert puts the
    card in the analysts' queue (which ranks exposed cards first, then by score: the score
    here falls with the rank); the case holds the work."""
    policy = policy or ResponsePolicy()
    chosen = [c for c in plan.cards if c.action == BLOCK_AND_REISSUE and c.card_id not in already]
    chosen.sort(key=lambda c: (not c.victim, c.rank))
    total = max(len(plan.cards), 1)
    out = []
    for c in chosen[: max(policy.max_cases - len(already), 0)]:
        case = Case(
            kind="breach_victim",
            opened_at=now,
            card_id=c.card_id,
            priority=case_priority(c.rank),
            breach_id=breach_id,
        )
        why = (
            f"{c.fraud_reported} fraudulent payments reported since exposure"
            if c.victim
            else f"signs of the stolen data in use since exposure (risk {c.risk:.1f})"
        )
        alert = Alert(
            card_id=c.card_id,
            kind="breach_victim" if c.victim else "breach_high_risk",
            created_at=now,
            score=round(1.0 - 0.5 * (c.rank - 1) / total, 4),
            reasons=[
                {
                    "code": "breach_exposed",
                    "message": f"Exposed at {plan.suspect.merchant_id}; {why}.",
                }
            ],
            case_id=case.case_id,
        )
        out.append((case, alert))
    return out


def _when(value: object, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        t = datetime.fromisoformat(value)
        return t if t.tzinfo else t.replace(tzinfo=default.tzinfo)
    return default


def suspect_of(breach: Breach) -> Suspect:
    """The suspect a stored breach was made from (its evidence holds the detection figures),
    so that a breach can be responded to again — or first recorded by hand — without
    re-running detection.

    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> b = Breach("BIGMART", t, t, 9.0, t, evidence={"level": "chain", "merchant_ids": ["a", "b"]})
    >>> s = suspect_of(b)
    >>> s.key, s.merchant_ids
    ('chain:BIGMART', ('a', 'b'))
    """
    ev = breach.evidence or {}
    return Suspect(
        merchant_id=breach.merchant_id,
        level=str(ev.get("level", "store")),
        chain=ev.get("chain"),
        merchant_ids=tuple(str(m) for m in ev.get("merchant_ids") or [breach.merchant_id]),
        terminal_ids=tuple(str(t) for t in ev.get("terminal_ids") or []),
        window_start=breach.window_start,
        window_end=breach.window_end,
        score=breach.score,
        p_value=float(ev.get("p_value", 0.0)),
        fraud_cards=int(ev.get("fraud_cards", 0)),
        exposed_cards=int(ev.get("exposed_cards", 0)),
        expected_fraud_cards=float(ev.get("expected_fraud_cards", 0.0)),
        first_fraud_at=_when(ev.get("first_fraud_at"), breach.detected_at),
        blame=float(ev.get("blame", 0.0)),
        places_tested=int(ev.get("places_tested", 0)),
        fraud_card_ids=tuple(str(c) for c in ev.get("fraud_card_ids") or []),
        ongoing=bool(ev.get("ongoing", False)),
        basis=str(ev.get("basis", "reports")),
    )


def check_message(exposed: bool, frozen: bool) -> str:
    """The answer to "am I affected?" in plain words — the same words whether asked through a
    signed link or the issuer's own app.

    >>> check_message(False, False)
    'Your card was not among those exposed. There is nothing you need to do.'
    """
    if not exposed:
        return "Your card was not among those exposed. There is nothing you need to do."
    if frozen:
        return (
            "Your card was exposed and is now frozen, so it cannot be misused. "
            "A replacement is on its way."
        )
    return (
        "Your card was exposed. We watch it closely and stop anything unusual at once; "
        "we will tell you straight away if we do."
    )
