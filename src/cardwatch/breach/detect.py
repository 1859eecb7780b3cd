"""Finding the common point of purchase: :func:`detect` as of one moment, :func:`detect_daily`
as it would have run every day.

A place alerts when enough defrauded cards paid there before their first fraud, and far more than
chance explains (see :mod:`cardwatch.breach.stats`). When several stores of one chain share the
evidence and the chain as a whole is stronger than any of its stores, they are reported as one
chain-level suspect — a breach of the tills of a chain rather than of one shop.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from cardwatch.breach import queries
from cardwatch.breach.config import DetectConfig
from cardwatch.breach.engine import Engine, History, as_utc, duckdb_engine
from cardwatch.breach.evidence import SOURCES, Evidence, gather
from cardwatch.breach.places import PlaceScore, leave_one_out, prefetch, score_places, score_subsets
from cardwatch.breach.stats import expected_unseen
from cardwatch.breach.suspect import Held, Suspect, from_us
from cardwatch.profiles.eventtime import to_us

__all__ = [
    "Detection",
    "assemble",
    "clones_seen",
    "detect",
    "detect_daily",
    "detect_with",
    "survey",
    "survey_daily",
    "survey_with",
]


@dataclass(frozen=True, slots=True)
class Detection:
    """One run of detection: its alerts, best first, and the pairs of places it held because the
    evidence cannot yet tell them apart (:class:`~cardwatch.breach.suspect.Held`). A held pair
    is not an alert: one of the two is probably leaking, and the next victims will say which.
    """

    suspects: list[Suspect]
    held: list[Held]


def detect(history: History, as_of: datetime, config: DetectConfig | None = None) -> list[Suspect]:
    """Suspected points of compromise as of ``as_of``, best first.

    Only fraud reported by ``as_of`` and payments made by ``as_of`` are read.

    >>> from cardwatch.schema import HISTORY_SCHEMA
    >>> detect(HISTORY_SCHEMA.empty_table(), datetime(2013, 12, 10))
    []
    """
    return survey(history, as_of, config).suspects


def survey(
    history: History,
    as_of: datetime,
    config: DetectConfig | None = None,
    known: Sequence[Suspect] = (),
) -> Detection:
    """:func:`detect`, with the places held as not yet told apart beside the alerts."""
    return survey_with(duckdb_engine(history), as_of, config or DetectConfig(), known)


def detect_with(engine: Engine, as_of: datetime, config: DetectConfig) -> list[Suspect]:
    """:func:`detect` on any engine (DuckDB, Spark)."""
    return survey_with(engine, as_of, config).suspects


def survey_with(
    engine: Engine, as_of: datetime, config: DetectConfig, known: Sequence[Suspect] = ()
) -> Detection:
    """:func:`survey` on any engine (DuckDB, Spark).

    ``known``: breaches alerted already (the daily job's open breaches, :func:`survey_daily`'s
    earlier runs). With ``config.explain_known`` their victims — the defrauded cards that paid
    there in their windows — are set aside before the other places are tested: they have an
    explanation. A known place is still tested on all the evidence, and alerts again if it
    still does, as it stands now (its window may have widened).

    Places are alerted one at a time, the strongest first; each alert's defrauded cards (those
    that paid there in its window) are then set aside and the rest tested again. Victims of a
    breach share more than the breached till — the bakery next door, the bus line — and without
    this those places would alert too, on the same cards. One of them can also be the stronger
    for a day, before the breached place has alerted: a place all of whose defrauded cards also
    paid at another place nearly as strong is held until the next victims tell the two apart
    (:func:`_ambiguous`); the pairs still held when no place is left to alert are reported.

    With ``config.counterfeit_use`` the cards seen paying as clones join the reported ones, each
    from its first fraud or clone use, whichever came first: one body of evidence, tested at the
    whole of ``alpha``. An alert that rests mostly on clones nobody has reported yet says so
    (``basis="counterfeit_use"``: early, to be confirmed by the reports).
    Two bodies, each at half of ``alpha``, were built first: each paid a factor of two, and where
    neither was strong alone a breach was found three days later than from the reports alone
    (docs/breach.md).
    """
    source = "reports+clones" if config.counterfeit_use else "reports"
    body = _Body.of(engine, as_of, config, source)
    if body is None:
        return Detection([], [])
    again: list[PlaceScore] = []
    passed: set[tuple[str, str]] = set()  # places not to alert in the rounds below
    if config.explain_known and known:
        passed = {(k.level, k.merchant_id) for k in known}
        others = {("chain", c) for c in body.ev.chains} - passed  # no subset scan wanted there
        again = [p for p in _best_of(body.ev, config, body.strata, body.localised, others)
                 if (p.level, p.key) in passed and _alerts(p, config)]  # fmt: skip
        body.set_aside(_victims_of(body.ev, known))
    if not config.explain_away:
        return Detection(_assemble_body(body, _best_of(body.ev, config, body.strata), config), [])
    while True:
        chosen, taken = body.alerts(config, passed)
        echoes = body.echoes(config, chosen) if config.recheck_alerts else set()
        if not echoes:
            break
        passed |= echoes
    chosen = again + chosen
    held = [
        Held(_held_suspect(body.ev, p), _held_suspect(body.ev, r))
        for p, r in body.held
        if not {(p.level, p.key), (r.level, r.key)} & taken
    ]
    return Detection(_assemble_body(body, chosen, config), held)


def _victims_of(ev: Evidence, known: Sequence[Suspect]) -> np.ndarray:
    """The defrauded cards (a mask over ``ev.fraud_ids``) that paid before their first fraud at
    one of the stores of a known breach in its window (open to ``as_of`` while it is ongoing)."""
    out = np.zeros(len(ev.fraud_ids), bool)
    for k in known:
        at = np.isin(ev.store_ids, list(k.merchant_ids))[ev.store]
        end = ev.as_of_us if k.ongoing else to_us(k.window_end)
        rows = at & (ev.ts >= to_us(k.window_start)) & (ev.ts <= end)
        out[ev.card_fraud[np.unique(ev.card[rows])]] = True
    return out


def _basis(ev: Evidence, suspect: Suspect) -> str:
    """``counterfeit_use`` when most of a suspect's cards are clones not reported yet."""
    unconfirmed = sum(c in ev.unconfirmed for c in suspect.fraud_card_ids)
    return "counterfeit_use" if 2 * unconfirmed > len(suspect.fraud_card_ids) else "reports"


def _held_suspect(ev: Evidence, p: PlaceScore) -> Suspect:
    stores = [s for s, _ in p.stores] if p.level == "chain" else [p.key]
    suspect = _suspect(p, p.key, stores)
    return dataclasses.replace(suspect, basis=_basis(ev, suspect))


def _assemble_body(body: _Body, places: list[PlaceScore], config: DetectConfig) -> list[Suspect]:
    found = assemble(_open_ended(body.ev, places, config), config)
    out = [dataclasses.replace(s, basis=_basis(body.ev, s)) for s in found]
    return sorted(out, key=lambda s: (-s.score, s.merchant_id))


class _Body:
    """One body of evidence (``evidence.SOURCES``) through the explaining-away rounds: its
    defrauded cards, the strata still in play, the windows localised on the first round."""

    def __init__(self, ev: Evidence, config: DetectConfig) -> None:
        self.ev = ev
        self.strata = [np.ones(len(ev.fraud_ids), bool)]
        cloned = ev.counterfeit
        if config.counterfeit_stratum and config.min_fraud_cards <= cloned.sum() < len(cloned):
            self.strata.append(cloned)
        self.initial = list(self.strata)
        self.localised: list[dict] = [{} for _ in self.strata]
        #: The pairs held on the latest round (place, rival): see :func:`_ambiguous`.
        self.held: list[tuple[PlaceScore, PlaceScore]] = []

    @classmethod
    def of(cls, engine: Engine, as_of: datetime, config: DetectConfig, source: str) -> _Body | None:
        ev = gather(engine, as_of, config, source)
        return None if ev is None else cls(ev, config)

    def alerts(
        self, config: DetectConfig, passed: set[tuple[str, str]]
    ) -> tuple[list[PlaceScore], set[tuple[str, str]]]:
        """The alerts, strongest first, each explaining its cards away before the next; the
        places ``passed`` (echoes found on an earlier pass, known breaches) are passed over.
        Also returns the places taken."""
        self.strata = list(self.initial)
        chosen: list[PlaceScore] = []
        taken = set(passed)
        for _ in range(config.max_alerts):
            best = self.next_alert(config, taken)
            if best is None:
                break
            chosen.append(best)
            taken.add((best.level, best.key))
            self.explain(best)
        return chosen, taken

    def echoes(self, config: DetectConfig, chosen: list[PlaceScore]) -> set[tuple[str, str]]:
        """The alerts that no longer alert once the others' victims are set aside, weakest
        first: each is tested again without every defrauded card that paid at another alert
        still kept, in its window.

        Explaining away goes one way: an alert takes its cards from the places tested after it,
        never from those before. A chain whose regulars are a breach's first victims can come
        first for a day (the breach's victims, and one honest card or two), and the breached
        place then alerts on the victims left — two alerts, one of them an echo of the other.
        Tested against each other, the echo has almost nothing of its own.
        """
        if len(chosen) < 2:
            return set()
        reach = {(p.level, p.key): self.reach(p) for p in chosen}
        kept = list(chosen)
        out: set[tuple[str, str]] = set()
        for p in sorted(chosen, key=lambda p: (-p.log_p, p.level, p.key)):
            others = [reach[(q.level, q.key)] for q in kept if q is not p]
            if not others:
                break
            elsewhere = np.logical_or.reduce(others)
            if not (reach[(p.level, p.key)] & elsewhere).any():
                continue
            alone = [s & ~elsewhere for s in self.initial]
            if self.log_p(config, p, alone) > math.log(config.alpha):
                kept.remove(p)
                out.add((p.level, p.key))
        return out

    def reach(self, p: PlaceScore) -> np.ndarray:
        """Every defrauded card (a mask over ``fraud_ids``) that paid at an alerted place in its
        window before its first fraud, whether or not an earlier alert had explained it."""
        ev = self.ev
        cand = next(c for c in ev.candidates if (c.level, c.key) == (p.level, p.key))
        rows = cand.idx[(ev.ts[cand.idx] >= p.start_us) & (ev.ts[cand.idx] <= p.end_us)]
        if p.subset:
            rows = rows[np.isin(ev.store_ids[ev.store[rows]], [s for s, _ in p.stores])]
        return np.isin(ev.fraud_ids, ev.card_ids[np.unique(ev.card[rows])])

    def log_p(self, config: DetectConfig, p: PlaceScore, strata: list[np.ndarray]) -> float:
        """``p``'s evidence on ``strata`` by the test that alerted it (0 when too few cards)."""
        best = 0.0
        for i, active in enumerate(strata):
            if p.subset:
                scores = score_subsets(self.ev, config, active, len(strata), {p.key})
            else:
                scores = score_places(self.ev, config, active, len(strata), self.localised[i])
            for q in scores:
                if (q.level, q.key) == (p.level, p.key) and _alerts(q, config):
                    best = min(best, q.log_p)
        return best

    def next_alert(self, config: DetectConfig, taken: set[tuple[str, str]]) -> PlaceScore | None:
        """The strongest place that alerts on what is left of this body, if any; places held
        as ambiguous (see :func:`_ambiguous`) are passed over."""
        ev, strata = self.ev, self.strata
        ranked = _best_of(ev, config, strata, self.localised, taken)
        held: set[tuple[str, str]] = set()
        self.held = []
        for p in ranked:
            place = (p.level, p.key)
            if place in taken or place in held or not _alerts(p, config):
                continue
            if not _spread(ev, config, p, strata):
                continue
            rival = _ambiguous(config, p, ranked, taken)
            if rival is not None:
                held |= {place, (rival.level, rival.key)}
                self.held.append((p, rival))
                continue
            return p
        return None

    def set_aside(self, explained: np.ndarray) -> None:
        """Take cards out of play for good (explained by known breaches)."""
        self.initial = [s & ~explained for s in self.initial]
        self.strata = list(self.initial)

    def explain(self, alert: PlaceScore) -> None:
        """Set aside the defrauded cards an alert explains."""
        explained = np.isin(self.ev.fraud_ids, np.asarray(alert.card_ids, dtype=str))
        self.strata = [s & ~explained for s in self.strata]


#: Victims expected by now from the payments after a window, had the leak gone on, below which
#: its end is not shown by the evidence (see stats.expected_unseen).
UNSEEN = 3.0


def _open_ended(ev: Evidence, places: list[PlaceScore], config: DetectConfig) -> list[PlaceScore]:
    """Alerted places whose leak may still be going on get a window open to ``as_of``.

    A window ends at its last victim's visit because later victims have not been defrauded, or
    reported, yet: the tills may still be leaking, and the cards that paid since are exposed too.
    The end is kept only when the place's payments since then should, at the rate and with the
    delays seen so far, already have brought a few victims to light.
    """
    by_key = {(p.level, p.key): p for p in ev.candidates}
    pos = {c: i for i, c in enumerate(ev.card_ids.tolist())}
    for p in places:
        if not config.open_windows or not _alerts(p, config) or (p.level, p.key) not in by_key:
            continue
        if not p.card_ids:
            continue
        cand = by_key[(p.level, p.key)]
        rows = cand.idx[(ev.ts[cand.idx] >= p.start_us) & (ev.ts[cand.idx] <= p.end_us)]
        rows = rows[np.isin(ev.card[rows], [pos[c] for c in p.card_ids])]
        order = np.argsort(ev.ts[rows], kind="stable")
        cards, first = np.unique(ev.card[rows][order], return_index=True)
        unseen = expected_unseen(ev.ts[rows][order][first], ev.reported[cards], cand.per_day,
                                 ev.start_us, p.start_us, p.end_us, ev.as_of_us)  # fmt: skip
        if unseen < UNSEEN:
            p.end_us, p.ongoing = ev.as_of_us, True
    return places


def _best_of(
    ev: Evidence,
    config: DetectConfig,
    strata: list[np.ndarray],
    localised: list[dict] | None = None,
    taken: set[tuple[str, str]] | None = None,
) -> list[PlaceScore]:
    """Each place scored in every stratum of defrauded cards, keeping its strongest evidence.

    The subset scan (``config.subset_scan``) then looks inside the chains that no other test
    alerts and that are not alerted already (``taken``).
    """
    best: dict[tuple[str, str], PlaceScore] = {}
    if localised is not None:
        prefetch(ev, config, strata, localised)
    for i, active in enumerate(strata):
        cache = localised[i] if localised is not None else None
        for p in score_places(ev, config, active, len(strata), cache):
            if (p.level, p.key) not in best or p.log_p < best[(p.level, p.key)].log_p:
                best[(p.level, p.key)] = p
    if config.subset_scan:
        alpha = math.log(config.alpha)
        quiet = {c for c in ev.chains if ("chain", c) not in (taken or set())
                 and not (("chain", c) in best and best[("chain", c)].log_p <= alpha)}  # fmt: skip
        for active in strata:
            for p in score_subsets(ev, config, active, len(strata), quiet):
                if (p.level, p.key) not in best or p.log_p < best[(p.level, p.key)].log_p:
                    best[(p.level, p.key)] = p
    return sorted(best.values(), key=lambda p: (p.log_p, p.level, p.key))


def _spread(ev: Evidence, config: DetectConfig, p: PlaceScore, strata: list[np.ndarray]) -> bool:
    """Whether a name group of a few stores still alerts without its strongest store
    (``config.name_group_leave_one_out``); real chains and stores always pass.

    Same-named independent shops share no tills: the group is one place only if its defrauded
    cards beyond those of its strongest shop still single the name out; a leak at one shop is
    that shop's alert. Tested in each stratum, the best kept (which can only be lenient).
    """
    if (not config.name_group_leave_one_out or p.level != "chain"
            or ev.chain_stores.get(p.key, 0) >= config.subset_min_stores):  # fmt: skip
        return True
    alpha = math.log(config.alpha)
    return any(leave_one_out(ev, config, p, s, len(strata)) <= alpha for s in strata)


def _ambiguous(
    config: DetectConfig,
    p: PlaceScore,
    ranked: list[PlaceScore],
    taken: set[tuple[str, str]],
) -> PlaceScore | None:
    """Another place that the evidence cannot yet tell apart from ``p``, if any
    (``config.hold_ambiguous``): every defrauded card of ``p`` paid there too, in its own window
    (all but ``config.ambiguity_outside_cards``), and its evidence is nearly as strong (``log_p``
    within ``config.ambiguity_nats``).

    A breach's victims share more than the breached tills: a chain that the same people use
    (the burger bar of the shopping centre, the supermarket of their town) holds all of a
    breach's first few victims as well, and can be the stronger of the two for a day, by the
    luck of a better-fitting window. Alerting it is a false alert that explains the real one
    away. Neither is alerted while the two hold the same victims: the next victims that paid
    at one and not the other decide between them, usually within a day. A store and its own
    chain are not rivals (:func:`assemble` chooses between those).
    """
    if not config.hold_ambiguous:
        return None
    cards = set(p.card_ids)
    for r in ranked:
        if r.log_p > p.log_p + config.ambiguity_nats:
            break
        if (r.level, r.key) in taken or _nested(p, r):
            continue
        if len(cards - set(r.card_ids)) <= config.ambiguity_outside_cards:
            return r
    return None


def _nested(a: PlaceScore, b: PlaceScore) -> bool:
    """Whether two places are one: the same place, a store and its chain, or two stores of one
    chain."""

    def chain(p: PlaceScore) -> str | None:
        return p.key if p.level == "chain" else p.chain

    return (a.level, a.key) == (b.level, b.key) or (chain(a) is not None and chain(a) == chain(b))


def _alerts(p: PlaceScore, config: DetectConfig) -> bool:
    return p.fraud_cards >= config.min_fraud_cards and p.log_p <= math.log(config.alpha)


def assemble(places: list[PlaceScore], config: DetectConfig) -> list[Suspect]:
    """Alerts from scored places: significant ones, chains merged when the chain carries them."""
    alerted = [p for p in places if _alerts(p, config)]
    store_score = {p.key: p.log_p for p in places if p.level == "store"}
    out: list[Suspect] = []
    absorbed: set[str] = set()
    for p in alerted:
        if p.level != "chain":
            continue
        stores = [s for s, _ in p.stores]
        best_store = min((store_score.get(s, 0.0) for s in stores), default=0.0)
        if len(stores) >= 2 and p.log_p <= best_store:
            out.append(_suspect(p, p.key, stores))
            absorbed.update(stores)
    for p in alerted:
        if p.level == "store" and p.key not in absorbed:
            out.append(_suspect(p, p.key, [p.key]))
    return sorted(out, key=lambda s: (-s.score, s.merchant_id))


def _suspect(p: PlaceScore, merchant_id: str, stores: list[str]) -> Suspect:
    return Suspect(
        merchant_id=merchant_id,
        level=p.level,
        chain=p.chain,
        merchant_ids=tuple(stores),
        terminal_ids=tuple(t for t, _ in p.terminals),
        window_start=from_us(p.start_us),
        window_end=from_us(p.end_us),
        score=p.score,
        p_value=min(1.0, math.exp(max(p.log_p, -745.0))),
        fraud_cards=p.fraud_cards,
        exposed_cards=p.exposed_cards,
        expected_fraud_cards=p.expected,
        first_fraud_at=from_us(p.first_fraud_us),
        blame=p.blame,
        places_tested=p.places_tested,
        fraud_card_ids=tuple(p.card_ids),
        ongoing=p.ongoing,
    )


def detect_daily(
    history: History,
    start: datetime,
    end: datetime,
    config: DetectConfig | None = None,
    step: timedelta = timedelta(days=1),
) -> Iterator[tuple[datetime, Suspect]]:
    """Run detection as of ``start``, ``start + step``, … up to ``end`` and yield each suspect
    (by :attr:`Suspect.key`) on the first run that alerts it — the day an analyst would have
    heard of it (the runs as :func:`survey_daily` makes them).

    >>> from cardwatch.schema import HISTORY_SCHEMA
    >>> list(detect_daily(HISTORY_SCHEMA.empty_table(), datetime(2013, 12, 1),
    ...                   datetime(2013, 12, 5)))
    []
    """
    seen: set[str] = set()
    for t, found in survey_daily(history, start, end, config, step):
        for s in found.suspects:
            if s.key not in seen:
                seen.add(s.key)
                yield t, s


def survey_daily(
    history: History,
    start: datetime,
    end: datetime,
    config: DetectConfig | None = None,
    step: timedelta = timedelta(days=1),
) -> Iterator[tuple[datetime, Detection]]:
    """Every run of detection as of ``start``, ``start + step``, … up to ``end``, with what it
    found (alerts and held pairs). A run with no fraud report and no card seen paying as a clone
    (``config.counterfeit_use``) since the previous one is skipped: its alerts could only differ
    by the drift of the look-back window. Each run knows the alerts of the runs before it, as
    the daily job knows its open breaches (``config.explain_known``).
    """
    config = config or DetectConfig()
    engine = duckdb_engine(history)
    start, end = as_utc(start), as_utc(end)
    reports = engine.query(queries.reports_sql(engine, start - step, end))
    reported = np.sort(reports.column("reported_us").to_numpy(zero_copy_only=False))
    prev: datetime | None = None
    clones: set[str] = set()
    known: dict[tuple[str, datetime, datetime], Suspect] = {}
    t = start
    while t <= end:
        lo = int((prev or start - step).timestamp() * 1e6)
        hi = int(t.timestamp() * 1e6)
        new = np.searchsorted(reported, hi, "right") - np.searchsorted(reported, lo, "right")
        if config.counterfeit_use:
            seen = clones_seen(engine, t, config)
            new += len(seen - clones)
            clones = seen
        if prev is None or new > 0:
            found = survey_with(engine, t, config, list(known.values()))
            known |= {(x.key, x.window_start, x.window_end): x for x in found.suspects}
            yield t, found
        prev = t
        t += step


def clones_seen(engine: Engine, as_of: datetime, config: DetectConfig) -> set[str]:
    """The cards seen paying as clones by ``as_of`` in the look-back (the early evidence's
    defrauded cards): a run need not be repeated unless one is new, or a fraud was reported."""
    as_of = as_utc(as_of)
    start = as_of - timedelta(days=config.lookback_days)
    found = engine.query(SOURCES["counterfeit_use"](engine, start, as_of, config))
    return {str(c) for c in found.column("card_id").to_pylist()}
