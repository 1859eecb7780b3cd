"""Scoring every place that defrauded cards visited before their first fraud.

This is the pipeline behind :func:`cardwatch.breach.detect`: a few SQL passes over the history
(:mod:`cardwatch.breach.queries`) bring back the defrauded cards, their earlier payments and the
traffic of the places they used; the rest — placing each place's window in time, the exact test,
blame — runs in Python over those small results. Places are stores (``merchant_id``) and chains
(a ``merchant_name`` shared by several stores), tested side by side.

Each candidate is tested twice, and pays for it: over its localised window (with Naus's scan
correction, since the window was chosen from the data) and over the whole look-back (a breach at a
place of regular customers shows in who shops there more than in when).
"""

from __future__ import annotations

import math
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
from cardwatch.breach.stats import (
    DAY_US,
    activity_ratio,
    localise_window,
    log_p_window,
    log_scan_factor,
)

__all__ = ["PlaceScore", "score_places"]


@dataclass(slots=True)
class PlaceScore:
    """One tested place and its window. ``log_p`` is the natural log of the adjusted p-value
    (scan- and Bonferroni-corrected; unbounded below)."""

    level: str
    key: str
    chain: str | None
    start_us: int
    end_us: int
    fraud_cards: int
    exposed_cards: int
    expected: float
    log_p: float
    blame: float
    first_fraud_us: int
    places_tested: int
    card_ids: list[str] = field(default_factory=list)
    terminals: list[tuple[str, int]] = field(default_factory=list)
    stores: list[tuple[str, int]] = field(default_factory=list)

    @property
    def score(self) -> float:
        """-log10 of the adjusted p-value."""
        return -self.log_p / math.log(10)


@dataclass(slots=True)
class _Place:
    level: str
    key: str
    idx: np.ndarray  # rows of the visits table
    cards: float  # distinct cards over the look-back (approximate)
    blame: float
    windows: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, k)


def _col(t: pa.Table, name: str) -> np.ndarray:
    return t.column(name).to_numpy(zero_copy_only=False)


def _blank(t: pa.Table, name: str) -> np.ndarray:
    return _col(t.set_column(t.schema.get_field_index(name), name,
                             pc.fill_null(t.column(name).cast(pa.string()), "")), name).astype(str)


def score_places(engine: Engine, as_of: datetime, config: DetectConfig) -> list[PlaceScore]:
    """Every candidate place (enough defrauded cards) with its window and evidence, best first."""
    as_of = as_utc(as_of)
    start = as_of - timedelta(days=config.lookback_days)
    start_us = int(start.timestamp() * 1_000_000)
    lookback = config.lookback_days
    fraud = engine.query(queries.fraud_cards_sql(engine, start, as_of))
    if fraud.num_rows < config.min_fraud_cards:
        return []
    engine.register("cw_fraud_cards", fraud)
    visits = engine.query(queries.pre_fraud_visits_sql(engine, start, as_of))
    if visits.num_rows == 0:
        return []
    pop = engine.query(queries.population_sql(engine, start, as_of)).to_pylist()[0]
    population = int(pop["cards"] or 0)

    first_by_id = dict(zip(_col(fraud, "card_id").astype(str).tolist(),
                           _col(fraud, "first_fraud_us").astype(np.int64).tolist(), strict=True))
    all_first = np.sort(np.fromiter(first_by_id.values(), dtype=np.int64))
    card_ids, card = np.unique(_col(visits, "card_id").astype(str), return_inverse=True)
    first = np.array([first_by_id[c] for c in card_ids], dtype=np.int64)
    ts = _col(visits, "ts_us").astype(np.int64)
    store_ids, store = np.unique(_col(visits, "merchant_id").astype(str), return_inverse=True)
    names = _blank(visits, "merchant_name")
    terminals = _blank(visits, "terminal_id")

    # Chains worth testing: names under which defrauded cards used several stores.
    named = names != ""
    pairs = np.unique(np.stack([names[named], store_ids[store[named]]]), axis=1)
    multi, count = np.unique(pairs[0], return_counts=True)
    chain_names = multi[count >= 2] if config.chains else multi[:0]
    engine.register("cw_places", pa.table({"merchant_id": store_ids}))
    store_n = _pairs(engine.query(queries.store_cards_sql(engine, start, as_of)), "merchant_id")
    chain_n: dict[str, int] = {}
    if len(chain_names):
        engine.register("cw_names", pa.table({"merchant_name": chain_names}))
        rows = engine.query(queries.chain_cards_sql(engine, start, as_of)).to_pylist()
        chain_n = {r["merchant_name"]: int(r["cards"]) for r in rows if r["stores"] >= 2}

    n_stores = len(store_ids)
    edge, weight = np.unique(card * n_stores + store, return_counts=True)
    ratio = 1.0
    if config.activity_adjust:
        card_days = float(np.sum(np.maximum(first - start_us, DAY_US)) / DAY_US)
        ratio = activity_ratio(visits.num_rows, card_days, float(pop["txns"] or 0), population,
                               lookback)
    n_store = np.array([store_n.get(s, 1) for s in store_ids], dtype=np.float64)
    blame, _ = blame_scores(edge // n_stores, edge % n_stores, weight.astype(np.float64),
                            n_store, config.blame_iterations)
    tested = n_stores + len(chain_n)

    places = [_Place("store", str(store_ids[i]), idx, n_store[i], float(blame[i]))
              for i, idx in enumerate(_slices(store))]
    if chain_n:
        name_ids, name_code = np.unique(names, return_inverse=True)
        places += [_Place("chain", str(name_ids[i]), idx, float(chain_n[str(name_ids[i])]),
                          float(blame[np.unique(store[idx])].sum()))
                   for i, idx in enumerate(_slices(name_code)) if str(name_ids[i]) in chain_n]

    rate = len(all_first) * ratio / max(population, 1)
    ranked = []
    for p in places:
        k = len(np.unique(card[p.idx]))
        if k >= config.min_fraud_cards:
            ranked.append((float(poisson.logsf(k - 1, max(p.cards * rate, 1e-12))), p))
    ranked.sort(key=lambda r: r[0])
    candidates: list[_Place] = []
    for level in ("store", "chain"):
        candidates += [p for _, p in ranked if p.level == level][: config.max_candidates]
    if not candidates:
        return []

    n_days = math.ceil(lookback) + 1
    exposed: dict[int, int] = {}
    windows: list[tuple[_Place, int, int, int]] = []
    for level, column in (("store", "merchant_id"), ("chain", "merchant_name")):
        group = [p for p in candidates if p.level == level]
        if not group:
            continue
        engine.register("cw_keys", pa.table({"key": pa.array([p.key for p in group], pa.string())}))
        traffic = engine.query(queries.daily_traffic_sql(engine, start, as_of, column))
        per_day = _daily(traffic, n_days)
        rows = []
        for p in group:
            w = localise_window(card[p.idx], ts[p.idx], per_day.get(p.key, np.zeros(n_days)),
                                start_us, int(p.cards), population, all_first, ratio, lookback,
                                config.min_window_days, config.min_fraud_cards)
            spans = [(start_us, int(as_of.timestamp() * 1_000_000),
                      len(np.unique(card[p.idx])))]
            if w is not None:
                spans.insert(0, (w.start_us, w.end_us, w.fraud_cards))
            for ws, we, k in spans:
                rows.append((len(windows), p.key, ws, we))
                windows.append((p, ws, we, k))
        engine.register("cw_windows", pa.table({
            "wid": pa.array([r[0] for r in rows], pa.int64()),
            "key": pa.array([r[1] for r in rows], pa.string()),
            "ws_us": pa.array([r[2] for r in rows], pa.int64()),
            "we_us": pa.array([r[3] for r in rows], pa.int64()),
        }))
        exposed.update(_pairs(engine.query(queries.window_cards_sql(engine, start, as_of, column)),
                              "wid"))

    extra = math.log(2) + math.log(max(tested, 1))
    evidence: dict[tuple[str, str], float] = {}
    shown: dict[tuple[str, str], tuple[int, int, int, int, float]] = {}
    for wid, (p, ws, we, k) in enumerate(windows):
        n = max(int(exposed.get(wid, k)), k)
        eligible = len(all_first) - int(np.searchsorted(all_first, ws, side="right"))
        fraud_eff = max(eligible, k) * ratio
        expected = n * fraud_eff / max(population, n)
        days = max((we - ws) / DAY_US, config.min_window_days)
        log_p = (log_p_window(k, n, max(population, n), fraud_eff)
                 + log_scan_factor(k, expected, lookback, days))
        place = (p.level, p.key)
        evidence[place] = min(evidence.get(place, 0.0), log_p)
        if place not in shown:  # the localised window comes first: it is the one reported
            shown[place] = (ws, we, k, n, expected)

    by_key = {(p.level, p.key): p for p in candidates}
    out = []
    for place, (ws, we, k, n, expected) in shown.items():
        p = by_key[place]
        inside = p.idx[(ts[p.idx] >= ws) & (ts[p.idx] <= we)]
        cards_in = np.unique(card[inside])
        out.append(PlaceScore(
            level=p.level, key=p.key,
            chain=p.key if p.level == "chain" else _chain_of(names[p.idx], chain_n),
            start_us=ws, end_us=we, fraud_cards=k, exposed_cards=n, expected=expected,
            log_p=evidence[place] + extra, blame=p.blame,
            first_fraud_us=int(first[cards_in].min()) if len(cards_in) else 0,
            places_tested=tested, card_ids=card_ids[cards_in].tolist(),
            terminals=_counts(terminals[inside], card[inside]),
            stores=_counts(store_ids[store[inside]], card[inside]),
        ))
    return sorted(out, key=lambda s: s.log_p)


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


def _slices(codes: np.ndarray) -> list[np.ndarray]:
    """Row indices of each code 0..max, in one sort rather than one scan per code."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(int(codes.max()) + 2))
    return [order[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]


def _pairs(t: pa.Table, key: str) -> dict:
    other = next(c for c in t.column_names if c != key)
    return dict(zip(t.column(key).to_pylist(), t.column(other).to_pylist(), strict=True))


def _chain_of(names: np.ndarray, chains: dict[str, int]) -> str | None:
    name = str(names[0]) if len(names) else ""
    return name if name in chains else None


def _counts(labels: np.ndarray, card: np.ndarray) -> list[tuple[str, int]]:
    """Distinct defrauded cards per label (terminal or store), most first; blanks dropped."""
    if len(labels) == 0:
        return []
    pairs = np.unique(np.stack([labels.astype(str), card.astype(str)]), axis=1)
    values, counts = np.unique(pairs[0], return_counts=True)
    order = np.lexsort((values, -counts))
    return [(str(values[i]), int(counts[i])) for i in order if values[i] != ""]
