"""What detection reads from history, once per run: the few SQL passes and their small results.

:func:`gather` runs the passes of :mod:`cardwatch.breach.queries` on an
:class:`~cardwatch.breach.engine.Engine` — defrauded cards, their earlier payments, the
population, the traffic of the places they used — and returns it as arrays. Scoring
(:mod:`cardwatch.breach.places`) then runs in Python over this, as many times as explaining away
requires, and only comes back to the engine for the exact card count of a new window.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import poisson

from cardwatch.breach import queries
from cardwatch.breach.blame import blame_scores
from cardwatch.breach.config import DetectConfig
from cardwatch.breach.engine import Engine, as_utc
from cardwatch.breach.stats import DAY_US, activity_ratio

__all__ = ["Candidate", "Evidence", "gather"]


@dataclass(slots=True)
class Candidate:
    """A place worth testing: a store (``merchant_id``) or a chain (shared ``merchant_name``)."""

    level: str
    key: str
    idx: np.ndarray  # rows of the visits
    cards: float  # distinct cards over the look-back (approximate)
    blame: float
    per_day: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass(slots=True)
class Evidence:
    """Defrauded cards, their pre-fraud visits (one row each) and the candidate places."""

    engine: Engine
    start: datetime
    as_of: datetime
    start_us: int
    as_of_us: int
    span_days: float  # the look-back actually covered by history
    population: int
    ratio: float
    card_ids: np.ndarray  # per visiting card
    first: np.ndarray  # per visiting card: first fraud (µs)
    card_fraud: np.ndarray  # per visiting card: its index in the fraud arrays below
    fraud_first: np.ndarray  # every defrauded card's first fraud, sorted
    fraud_ids: np.ndarray  # ... its card id, in the same order
    counterfeit: np.ndarray  # ... whether it was cloned (see queries.fraud_cards_sql)
    reported: np.ndarray  # per visiting card: its first fraud report (µs)
    card: np.ndarray  # per visit: index into card_ids
    ts: np.ndarray
    store_ids: np.ndarray
    store: np.ndarray  # per visit: index into store_ids
    names: np.ndarray
    terminals: np.ndarray
    chains: dict[str, int]
    chain_stores: dict[str, int]  # stores per chain, over the look-back
    candidates: list[Candidate]
    tested: dict[str, int]  # places tested per level
    unconfirmed: frozenset[str]  # cards seen as clones, not reported yet
    exact: dict[tuple[str, str, int, int], int] = field(default_factory=dict)
    per_store: dict[tuple[str, int, int], dict[str, int]] = field(default_factory=dict)

    def exposed(self, windows: list[tuple[Candidate, int, int]]) -> list[int]:
        """Exact distinct cards that paid at each (place, start, end), counted by the engine
        once per window and remembered across the explaining-away rounds."""
        todo = [(p, ws, we) for p, ws, we in windows if (p.level, p.key, ws, we) not in self.exact]
        for level, column in (("store", "merchant_id"), ("chain", "merchant_name")):
            rows = [(i, p.key, ws, we) for i, (p, ws, we) in enumerate(todo) if p.level == level]
            if not rows:
                continue
            e = self.engine
            e.register("cw_windows", pa.table({
                "wid": pa.array([r[0] for r in rows], pa.int64()),
                "key": pa.array([r[1] for r in rows], pa.string()),
                "ws_us": pa.array([r[2] for r in rows], pa.int64()),
                "we_us": pa.array([r[3] for r in rows], pa.int64()),
            }))  # fmt: skip
            got = _pairs(
                e.query(queries.window_cards_sql(e, self.start, self.as_of, column)), "wid"
            )
            for i, key, ws, we in rows:
                self.exact[(level, key, ws, we)] = int(got.get(i, 0))
        return [self.exact[(p.level, p.key, ws, we)] for p, ws, we in windows]

    def store_exposed(self, windows: list[tuple[str, int, int]]) -> list[dict[str, int]]:
        """Exact distinct cards per store of each (chain, start, end), in one pass for all the
        windows asked, remembered across the explaining-away rounds."""
        todo = sorted({w for w in windows if w not in self.per_store})
        if todo:
            e = self.engine
            e.register("cw_windows", pa.table({
                "wid": pa.array(range(len(todo)), pa.int64()),
                "key": pa.array([w[0] for w in todo], pa.string()),
                "ws_us": pa.array([w[1] for w in todo], pa.int64()),
                "we_us": pa.array([w[2] for w in todo], pa.int64()),
            }))  # fmt: skip
            got = e.query(queries.window_store_cards_sql(e, self.start, self.as_of)).to_pylist()
            for w in todo:
                self.per_store[w] = {}
            for r in got:
                self.per_store[todo[r["wid"]]][str(r["merchant_id"])] = int(r["cards"])
        return [self.per_store[w] for w in windows]


def _col(t: pa.Table, name: str) -> np.ndarray:
    return t.column(name).to_numpy(zero_copy_only=False)


def _text(t: pa.Table, name: str) -> np.ndarray:
    return np.asarray(pc.fill_null(t.column(name).cast(pa.string()), "").to_pylist(), dtype=str)


def _pairs(t: pa.Table, key: str) -> dict:
    other = next(c for c in t.column_names if c != key)
    return dict(zip(t.column(key).to_pylist(), t.column(other).to_pylist(), strict=True))


def _slices(codes: np.ndarray) -> list[np.ndarray]:
    """Row indices of each code 0..max, in one sort rather than one scan per code."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(int(codes.max()) + 2))
    return [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


def _daily(traffic: pa.Table, n_days: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    keys = _col(traffic, "key").astype(str)
    days = _col(traffic, "day").astype(np.int64)
    txns = _col(traffic, "txns").astype(np.float64)
    for key, day, n in zip(keys, days, txns, strict=True):
        arr = out.setdefault(str(key), np.zeros(n_days))
        if 0 <= day < n_days:
            arr[day] += n
    return out


#: What makes a card "defrauded" for the tests: its fraud reported by ``as_of``, its stripe seen
#: used as a clone by then, or either (``DetectConfig.counterfeit_use``).
SOURCES: dict[str, Callable[[Engine, datetime, datetime, DetectConfig], str]] = {
    "reports": lambda e, start, as_of, _: queries.fraud_cards_sql(e, start, as_of),
    "counterfeit_use": lambda e, start, as_of, config: queries.counterfeit_use_sql(
        e, start, as_of, config.clone_alibi_kmh
    ),
    "reports+clones": lambda e, start, as_of, config: queries.reported_or_cloned_sql(
        e, start, as_of, config.clone_alibi_kmh
    ),
}


def gather(
    engine: Engine, as_of: datetime, config: DetectConfig, source: str = "reports"
) -> Evidence | None:
    """Everything the tests need, or ``None`` when too few defrauded cards are known."""
    as_of = as_utc(as_of)
    start = as_of - timedelta(days=config.lookback_days)
    start_us = int(start.timestamp() * 1_000_000)
    as_of_us = int(as_of.timestamp() * 1_000_000)
    fraud = engine.query(SOURCES[source](engine, start, as_of, config))
    if fraud.num_rows < config.min_fraud_cards:
        return None
    engine.register("cw_fraud_cards", fraud)
    visits = engine.query(queries.pre_fraud_visits_sql(engine, start, as_of))
    if visits.num_rows == 0:
        return None
    pop = engine.query(queries.population_sql(engine, start, as_of)).to_pylist()[0]
    population = int(pop["cards"] or 0)
    first_seen = int(pop["first_us"] or start_us)
    span_days = max((as_of_us - max(first_seen, start_us)) / DAY_US, config.min_window_days)

    ids_all = _col(fraud, "card_id").astype(str)
    first_all = _col(fraud, "first_fraud_us").astype(np.int64)
    order = np.argsort(first_all, kind="stable")
    first_by_id = dict(zip(ids_all.tolist(), first_all.tolist(), strict=True))
    reported_by_id = dict(zip(ids_all.tolist(), _col(fraud, "reported_us").tolist(), strict=True))
    card_ids, card = np.unique(_col(visits, "card_id").astype(str), return_inverse=True)
    first = np.array([first_by_id[c] for c in card_ids], dtype=np.int64)
    reported = np.array([reported_by_id[c] for c in card_ids], dtype=np.int64)
    fraud_ids = ids_all[order]
    by_id = np.argsort(fraud_ids)
    card_fraud = by_id[np.searchsorted(fraud_ids, card_ids, sorter=by_id)]
    ts = _col(visits, "ts_us").astype(np.int64)
    store_ids, store = np.unique(_col(visits, "merchant_id").astype(str), return_inverse=True)
    names = _text(visits, "merchant_name")
    terminals = _text(visits, "terminal_id")

    # Chains worth testing: names under which defrauded cards used several stores.
    named = names != ""
    pairs = np.unique(np.stack([names[named], store_ids[store[named]]]), axis=1)
    multi, count = np.unique(pairs[0], return_counts=True)
    chain_names = multi[count >= 2] if config.chains else multi[:0]
    engine.register("cw_places", pa.table({"merchant_id": store_ids}))
    store_n = _pairs(engine.query(queries.store_cards_sql(engine, start, as_of)), "merchant_id")
    chains: dict[str, int] = {}
    chain_stores: dict[str, int] = {}
    if len(chain_names):
        engine.register("cw_names", pa.table({"merchant_name": chain_names}))
        rows = engine.query(queries.chain_cards_sql(engine, start, as_of)).to_pylist()
        chains = {r["merchant_name"]: int(r["cards"]) for r in rows if r["stores"] >= 2}
        chain_stores = {r["merchant_name"]: int(r["stores"]) for r in rows if r["stores"] >= 2}

    n_stores = len(store_ids)
    edge, weight = np.unique(card * n_stores + store, return_counts=True)
    ratio = 1.0
    if config.activity_adjust:
        card_days = float(np.sum(np.maximum(first - start_us, DAY_US)) / DAY_US)
        ratio = activity_ratio(visits.num_rows, card_days, float(pop["txns"] or 0), population,
                               config.lookback_days)  # fmt: skip
    n_store = np.array([store_n.get(s, 1) for s in store_ids], dtype=np.float64)
    blame, _ = blame_scores(edge // n_stores, edge % n_stores, weight.astype(np.float64),
                            n_store, config.blame_iterations)  # fmt: skip

    places = [Candidate("store", str(store_ids[i]), idx, n_store[i], float(blame[i]))
              for i, idx in enumerate(_slices(store))]  # fmt: skip
    if chains:
        name_ids, name_code = np.unique(names, return_inverse=True)
        for i, idx in enumerate(_slices(name_code)):
            name = str(name_ids[i])
            if name in chains:
                chain_blame = float(blame[np.unique(store[idx])].sum())
                places.append(Candidate("chain", name, idx, float(chains[name]), chain_blame))

    # Candidates: enough defrauded cards, the most surprising first (a cheap Poisson rank).
    rate = len(first_all) * ratio / max(population, 1)
    ranked = []
    for p in places:
        k = len(np.unique(card[p.idx]))
        if k >= config.min_fraud_cards:
            ranked.append((float(poisson.logsf(k - 1, max(p.cards * rate, 1e-12))), p))
    ranked.sort(key=lambda r: r[0])
    candidates: list[Candidate] = []
    for level in ("store", "chain"):
        candidates += [p for _, p in ranked if p.level == level][: config.max_candidates]

    n_days = math.ceil(config.lookback_days) + 1
    for level, column in (("store", "merchant_id"), ("chain", "merchant_name")):
        group = [p for p in candidates if p.level == level]
        if not group:
            continue
        keys = pa.array([p.key for p in group], pa.string())
        engine.register("cw_keys", pa.table({"key": keys}))
        per_day = _daily(engine.query(queries.daily_traffic_sql(engine, start, as_of, column)),
                         n_days)  # fmt: skip
        for p in group:
            p.per_day = per_day.get(p.key, np.zeros(n_days))

    # The subset scan's chains: a third level of tests, when asked for (see places.score_places).
    subset_family = {}
    if config.subset_scan and config.chains:
        big = [c for c, n in chain_stores.items() if n >= config.subset_min_stores]
        subset_family = {"subset": len(big)}
    return Evidence(
        engine=engine, start=start, as_of=as_of, start_us=start_us, as_of_us=as_of_us,
        span_days=span_days, population=population, ratio=ratio, card_ids=card_ids,
        first=first, card_fraud=card_fraud, fraud_first=first_all[order], fraud_ids=fraud_ids,
        counterfeit=_col(fraud, "counterfeit").astype(bool)[order], reported=reported, card=card,
        ts=ts, store_ids=store_ids, store=store, names=names, terminals=terminals,
        chains=chains, chain_stores=chain_stores, candidates=candidates,
        tested={"store": n_stores, "chain": len(chains)} | subset_family,
        unconfirmed=frozenset(ids_all[_col(fraud, "confirmed") == 0].tolist()),
    )  # fmt: skip
