"""Scoring every candidate place over the gathered evidence (:mod:`cardwatch.breach.evidence`).

Each candidate is tested twice, and pays for it: over its localised window (with Naus's scan
correction, since the window was chosen from the data) and over the whole look-back (a breach at a
place of regular customers shows in who shops there more than in when). The family-wise error is
split evenly between the two levels — a handful of chains, hundreds of stores — and each level is
Bonferroni-corrected over its own places: a chain breach then needs a few reports fewer than it
would if it paid for every corner shop, and a store pays only a factor of two.

``active`` marks the defrauded cards taken into account: all of them, or only the cloned ones
(a stratum where phishing and lost cards are absent), less those already explained by an alerted
place — scoring again without them is how a compromise explains away the places its victims
also used (see :func:`cardwatch.breach.detect.detect_with`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cardwatch.breach.concentration import Concentration, concentrate
from cardwatch.breach.config import DetectConfig
from cardwatch.breach.evidence import Candidate, Evidence
from cardwatch.breach.stats import DAY_US, Window, localise_window, log_p_windows
from cardwatch.breach.subset import scan_scores, subset_scan

__all__ = [
    "PlaceScore",
    "correction",
    "leave_one_out",
    "prefetch",
    "score_places",
    "score_subsets",
    "subset_windows",
]


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
    ongoing: bool = False
    subset: bool = False  # found by the subset scan: ``stores`` are the chain's stores alerted

    @property
    def score(self) -> float:
        """-log10 of the adjusted p-value."""
        return -self.log_p / math.log(10)


def correction(level: str, tested: dict[str, int], split: bool, windows: int = 2) -> float:
    """Natural log of the multiplicity factor for one place: its ``windows`` tests (localised,
    look-back, recent), the two levels when both are tested and ``split``, the places of its
    level (or of both).

    >>> round(math.exp(correction("chain", {"store": 300, "chain": 10}, True)), 1)
    40.0
    >>> round(math.exp(correction("chain", {"store": 300, "chain": 10}, False)), 1)
    620.0
    >>> round(math.exp(correction("chain", {"store": 300, "chain": 10}, True, 5)), 1)
    100.0
    """
    levels = [n for n in tested.values() if n > 0]
    base = math.log(max(windows, 1))
    if split and len(levels) > 1:
        return base + math.log(len(levels)) + math.log(max(tested.get(level, 0), 1))
    return base + math.log(max(sum(tested.values()), 1))


def _windows(
    ev: Evidence,
    config: DetectConfig,
    active: np.ndarray | None,
    localised: dict[tuple[str, str], Window | None] | None,
) -> tuple[list[tuple[Candidate, np.ndarray, int, int, int, str]], dict[str, int],
           dict[tuple[str, str], Concentration], np.ndarray, int]:  # fmt: skip
    """The windows to test at every candidate with enough active defrauded cards: localised,
    look-back, recent, and (``config.concentration``) the concentrated one."""
    active = np.ones(len(ev.fraud_ids), bool) if active is None else active
    fraud_first = ev.fraud_first[active]
    kept = active[ev.card_fraud][ev.card]
    selected = {"store": 0, "chain": 0}
    windows: list[tuple[Candidate, np.ndarray, int, int, int, str]] = []  # ..., kind
    recent = sorted({max(ev.as_of_us - int(d * DAY_US), ev.start_us) for d in config.recent_days
                     if ev.as_of_us - int(d * DAY_US) > ev.start_us})  # fmt: skip
    n_windows = 2 + len(recent)
    timed: dict[tuple[str, str], Concentration] = {}
    for p in ev.candidates:
        idx = p.idx[kept[p.idx]]
        k_all = len(np.unique(ev.card[idx]))
        if k_all < config.min_fraud_cards:
            continue
        selected[p.level] += 1
        place = (p.level, p.key)
        if localised is not None and place in localised:
            w = localised[place]
            if w is not None:
                inside = idx[(ev.ts[idx] >= w.start_us) & (ev.ts[idx] <= w.end_us)]
                eligible = ev.first[ev.card[inside]] > w.start_us
                w = Window(w.start_us, w.end_us, len(np.unique(ev.card[inside][eligible])))
        else:
            w = localise_window(ev.card[idx], ev.ts[idx], p.per_day, ev.start_us, int(p.cards),
                                ev.population, fraud_first, ev.ratio, ev.span_days,
                                config.min_window_days, config.min_fraud_cards)  # fmt: skip
            if localised is not None:
                localised[place] = w
        if w is not None and w.fraud_cards >= config.min_fraud_cards:
            windows.append((p, idx, w.start_us, w.end_us, w.fraud_cards, "scan"))
        windows.append((p, idx, ev.start_us, ev.as_of_us, k_all, "fixed"))
        for ws in recent:  # fixed in advance: no scan correction
            k = len(np.unique(ev.card[idx[ev.ts[idx] >= ws]]))
            if k >= config.min_fraud_cards:
                windows.append((p, idx, ws, ev.as_of_us, k, "fixed"))
        if config.concentration:
            c = concentrate(ev.card[idx], ev.ts[idx], ev.first[ev.card[idx]], p.per_day,
                            ev.start_us, ev.span_days, config.min_window_days,
                            config.min_fraud_cards)  # fmt: skip
            if c is not None:
                timed[place] = c
                windows.append((p, idx, c.start_us, c.end_us, c.fraud_cards, "timed"))
    return windows, selected, timed, fraud_first, n_windows


def subset_windows(ev: Evidence, config: DetectConfig) -> list[tuple[int, int]]:
    """The subset scan's windows, fixed before looking: ``subset_days`` long, sliding by half
    their length from ``subset_reach_days`` before ``as_of`` (within the look-back) to it.

    Fixed, they pay a Bonferroni factor each rather than a scan correction; short, they keep a
    breach's few victims from being diluted by months of a chain's customers (a window open to
    ``as_of`` would count every later visitor, and every later fraud as eligible).
    """
    if not config.subset_scan or not config.chains or not ev.tested.get("subset"):
        return []
    out = set()
    reach = min(int(config.subset_reach_days * DAY_US), ev.as_of_us - ev.start_us)
    for d in config.subset_days:
        length = min(int(d * DAY_US), reach)
        step = max(length // 2, 1)
        ws = ev.as_of_us - reach
        while ws + length <= ev.as_of_us:
            out.add((ws, ws + length))
            ws += step
    return sorted(out)


def _subset_chains(
    ev: Evidence, config: DetectConfig, active: np.ndarray, chains: set[str] | None
) -> list[tuple[Candidate, np.ndarray]]:
    """The real chains worth a subset scan, each with the rows of its ``active`` defrauded cards."""
    kept = active[ev.card_fraud][ev.card]
    out = []
    for p in ev.candidates:
        if p.level != "chain" or ev.chain_stores.get(p.key, 0) < config.subset_min_stores:
            continue
        if chains is not None and p.key not in chains:
            continue
        idx = p.idx[kept[p.idx]]
        if len(np.unique(ev.card[idx])) >= config.min_fraud_cards:
            out.append((p, idx))
    return out


def _subset_windows(
    ev: Evidence, config: DetectConfig, active: np.ndarray | None, chains: set[str] | None = None
) -> list[tuple[Candidate, np.ndarray, int, int]]:
    """The chains worth a subset scan (real chains with enough active defrauded cards), each
    with the rows of those cards and each window."""
    windows = subset_windows(ev, config)
    if not windows:
        return []
    active = np.ones(len(ev.fraud_ids), bool) if active is None else active
    return [
        (p, idx, ws, we)
        for p, idx in _subset_chains(ev, config, active, chains)
        for ws, we in windows
    ]


def _subset_scores(
    ev: Evidence,
    config: DetectConfig,
    active: np.ndarray | None,
    fraud_first: np.ndarray,
    fix: float = 0.0,
    chains: set[str] | None = None,
) -> list[tuple[float, Candidate, np.ndarray, int, int, int, int, float]]:
    """Each chain's best subset of stores in each subset window: (log p before the place and
    window corrections, the chain, the rows of the subset's stores, start, end, defrauded cards,
    exposed cards — summed over the subset's stores — and expected)."""
    todo = _subset_windows(ev, config, active, chains)
    if not todo:
        return []
    exposed = ev.store_exposed([(p.key, ws, we) for p, _, ws, we in todo])
    counted = []
    for (p, idx, ws, we), per_store in zip(todo, exposed, strict=True):
        if not per_store:
            continue
        names = np.array(sorted(per_store))
        n = np.array([per_store[x] for x in names], dtype=np.float64)
        inside = idx[(ev.ts[idx] >= ws) & (ev.ts[idx] <= we) & (ev.first[ev.card[idx]] > ws)]
        if len(np.unique(ev.card[inside])) < config.min_fraud_cards:
            continue
        store_of = np.searchsorted(names, ev.store_ids[ev.store[inside]])
        ok = (store_of < len(names)) & (names[np.minimum(store_of, len(names) - 1)]
                                        == ev.store_ids[ev.store[inside]])  # fmt: skip
        pairs = np.unique(np.stack([store_of[ok], ev.card[inside][ok]]), axis=1)
        k = np.bincount(pairs[0], minlength=len(names)).astype(np.float64)
        eligible = len(fraud_first) - np.searchsorted(fraud_first, ws, side="right")
        rate = max(eligible, 1) * ev.ratio / max(ev.population, 1)
        score = float(scan_scores(k, np.maximum(n, k) * min(rate, 1.0))[0])
        counted.append((-score, p.key, ws, we, p, idx, inside, names, n, k, rate))
    # A chain's windows in order of their score: once one is shown to alert, the draws for the
    # others (which could only tie at the same bound) are saved.
    counted.sort(key=lambda c: c[:4])
    target = math.log(config.alpha) - fix
    settled: set[str] = set()
    out = []
    for _, key, ws, we, p, idx, inside, names, n, k, rate in counted:
        if key in settled:
            continue
        scan = subset_scan(k, n, rate, config.subset_draws, target=target)
        if scan is None:
            continue
        if scan.log_p <= target:
            settled.add(key)
        chosen = names[scan.stores]
        rows = idx[np.isin(ev.store_ids[ev.store[idx]], chosen)]
        cards = len(np.unique(ev.card[inside[np.isin(ev.store_ids[ev.store[inside]], chosen)]]))
        if cards < max(config.subset_min_cards, config.min_fraud_cards):
            continue
        out.append((scan.log_p, p, rows, ws, we, cards, int(n[scan.stores].sum()),
                    scan.expected))  # fmt: skip
    return out


def prefetch(
    ev: Evidence,
    config: DetectConfig,
    strata: list[np.ndarray],
    localised: list[dict[tuple[str, str], Window | None]],
) -> None:
    """Count the exposed cards of every stratum's windows in one pass over history."""
    wanted = []
    for active, cache in zip(strata, localised, strict=True):
        wanted += [(p, ws, we) for p, _, ws, we, _, _ in _windows(ev, config, active, cache)[0]]
    if wanted:
        ev.exposed(wanted)
    subsets = [(p.key, ws, we)
               for a in strata for p, _, ws, we in _subset_windows(ev, config, a)]  # fmt: skip
    if subsets:
        ev.store_exposed(subsets)


def score_places(
    ev: Evidence,
    config: DetectConfig,
    active: np.ndarray | None = None,
    strata: int = 1,
    localised: dict[tuple[str, str], Window | None] | None = None,
) -> list[PlaceScore]:
    """Every candidate with enough active defrauded cards, with its window, best first.

    ``active`` is a mask over ``ev.fraud_ids`` (all when ``None``); ``strata`` is how many
    such masks the caller tests, and pays for. ``localised`` remembers each place's localised
    window across explaining-away rounds: the window is found once, on the first round's cards,
    and later rounds test it again with the cards that remain (it was chosen from the data
    either way, and pays the scan correction either way), which needs no new pass over history.
    """
    windows, selected, timed, fraud_first, n_windows = _windows(ev, config, active, localised)
    families = 2 if config.concentration else 1
    if not windows:
        return []
    exposed = np.asarray(ev.exposed([(p, ws, we) for p, _, ws, we, _, _ in windows]), float)

    # Each test's log p-value with its own corrections; a place shows its strongest window.
    # The population tests are corrected over every place of their level, the concentration
    # test only over the places it could select (enough defrauded visitors): it is conditional
    # on who visited, so that choice does not bias it (see cardwatch.breach.concentration).
    extra = math.log(strata) + math.log(families)
    levels = 2 if config.split_alpha and all(n > 0 for n in selected.values()) else 1
    ws_all = np.array([w[2] for w in windows], dtype=np.int64)
    we_all = np.array([w[3] for w in windows], dtype=np.int64)
    k_arr = np.array([w[4] for w in windows], dtype=np.float64)
    n_arr = np.maximum(exposed, k_arr)
    eligible = len(fraud_first) - np.searchsorted(fraud_first, ws_all, side="right")
    fraud_eff = np.maximum(eligible, k_arr) * ev.ratio
    pop = np.maximum(ev.population, n_arr)
    expected_arr = n_arr * fraud_eff / pop
    days = np.maximum((we_all - ws_all) / DAY_US, config.min_window_days)
    log_p_arr = log_p_windows(k_arr, n_arr, pop, fraud_eff)
    scan = np.array([w[5] == "scan" for w in windows])  # the window was chosen from the data
    naus = np.log(np.maximum(1.0, (k_arr - expected_arr) * ev.span_days / days))
    log_p_arr = log_p_arr + np.where(scan, naus, 0.0)
    level_fix = {lv: correction(lv, ev.tested, config.split_alpha, n_windows) for lv in selected}
    best: dict[tuple[str, str], tuple[float, Candidate, np.ndarray, int, int, int, int, float]]
    best = {}
    for i, (p, idx, ws, we, k, kind) in enumerate(windows):
        place = (p.level, p.key)
        n = int(n_arr[i])
        if kind == "timed":
            c = timed[place]
            many = selected[p.level] if levels == 2 else sum(selected.values())
            log_p = c.log_p + math.log(levels) + math.log(max(many, 1)) + extra
            expected = c.expected
        else:
            log_p = float(log_p_arr[i]) + level_fix[p.level] + extra
            expected = float(expected_arr[i])
        if place not in best or _better(
            log_p, we - ws, best[place][0], best[place][4] - best[place][3]
        ):
            best[place] = (log_p, p, idx, ws, we, k, n, expected)

    tested = sum(ev.tested.values())
    out = [_place_score(ev, config, tested, *b) for b in best.values()]
    return sorted(out, key=lambda s: (s.log_p, s.level, s.key))


def score_subsets(
    ev: Evidence,
    config: DetectConfig,
    active: np.ndarray | None = None,
    strata: int = 1,
    chains: set[str] | None = None,
) -> list[PlaceScore]:
    """The best subset of stores of each chain in ``chains`` (all real chains when ``None``), in
    each window of the subset scan, with the subset level's corrections; best first.

    The caller (:func:`cardwatch.breach.detect.detect_with`) asks only for the chains that the
    other tests do not alert: a whole-chain breach is reported as before, over the whole chain's
    window, and the Monte-Carlo draws are spent where they can change an answer.
    """
    windows = subset_windows(ev, config)
    if not windows:
        return []
    active = np.ones(len(ev.fraud_ids), bool) if active is None else active
    extra = math.log(strata)
    fix = correction("subset", ev.tested, config.split_alpha, len(windows)) + extra
    best: dict[str, tuple[float, Candidate, np.ndarray, int, int, int, int, float]] = {}
    for log_p, p, idx, ws, we, k, n, expected in _subset_scores(
        ev, config, active, ev.fraud_first[active], fix, chains
    ):
        log_p += fix
        if p.key not in best or _better(
            log_p, we - ws, best[p.key][0], best[p.key][4] - best[p.key][3]
        ):
            best[p.key] = (log_p, p, idx, ws, we, k, n, expected)
    tested = sum(ev.tested.values())
    out = [_place_score(ev, config, tested, *b) for b in best.values()]
    for s in out:
        s.subset = True
    return sorted(out, key=lambda s: (s.log_p, s.level, s.key))


def _place_score(
    ev: Evidence, config: DetectConfig, tested: int, log_p: float, p: Candidate,
    idx: np.ndarray, ws: int, we: int, k: int, n: int, expected: float,
) -> PlaceScore:  # fmt: skip
    inside = idx[(ev.ts[idx] >= ws) & (ev.ts[idx] <= we)]
    cards_in = np.unique(ev.card[inside])
    # Only an alert, or a place near enough to be held beside one, needs its tills and stores.
    margin = config.ambiguity_nats if config.hold_ambiguous else 0.0
    listed = log_p <= math.log(config.alpha) + margin
    return PlaceScore(
        level=p.level, key=p.key,
        chain=p.key if p.level == "chain" else _chain_of(ev.names[p.idx], ev.chains),
        start_us=ws, end_us=we, fraud_cards=k, exposed_cards=n, expected=expected,
        log_p=log_p, blame=p.blame,
        first_fraud_us=int(ev.first[cards_in].min()) if len(cards_in) else 0,
        places_tested=tested, card_ids=ev.card_ids[cards_in].tolist(),
        terminals=_counts(ev.terminals[inside], ev.card[inside]) if listed else [],
        stores=_counts(ev.store_ids[ev.store[inside]], ev.card[inside]) if listed else [],
    )  # fmt: skip


#: Windows whose log p-values differ by less than this are taken as equally strong, and the
#: shorter one is reported: it says better when, and its p-value is at most 10 % larger (so the
#: choice can only make an alert harder).
TIE = 0.1


def _better(log_p: float, span: int, best_log_p: float, best_span: int) -> bool:
    """Whether a window (``log_p``, ``span``) should replace the best one so far.

    >>> _better(-10.0, 5, -9.0, 9), _better(-9.05, 5, -9.1, 9), _better(-9.05, 9, -9.1, 5)
    (True, True, False)
    """
    if abs(log_p - best_log_p) < TIE:
        return span < best_span
    return log_p < best_log_p


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


def leave_one_out(
    ev: Evidence, config: DetectConfig, p: PlaceScore, active: np.ndarray, strata: int = 1
) -> float:
    """Log p-value of a chain's alert over the same window without its strongest store.

    A group of same-named independent shops (fewer than ``config.subset_min_stores`` stores)
    shares no tills: what would make it one place is a compromise spread over several of its
    stores. Its defrauded cards are set aside if they paid at the store with the most of them
    in the window, and the rest tested again with the same corrections, against the cards that
    paid at the other stores (summed per store: never fewer than the distinct cards, so the
    test can only be harder). A till breach of one shop is that shop's alert, not its name's.
    """
    cand = next((c for c in ev.candidates if c.level == p.level and c.key == p.key), None)
    if cand is None:
        return 0.0
    kept = active[ev.card_fraud][ev.card]
    idx = cand.idx[kept[cand.idx]]
    inside = idx[(ev.ts[idx] >= p.start_us) & (ev.ts[idx] <= p.end_us)]
    inside = inside[ev.first[ev.card[inside]] > p.start_us]
    if len(inside) == 0:
        return 0.0
    stores, cards = ev.store[inside], ev.card[inside]
    pairs = np.unique(np.stack([stores, cards]), axis=1)
    ids, counts = np.unique(pairs[0], return_counts=True)
    top = ids[np.lexsort((ev.store_ids[ids], -counts))[0]]
    dropped = np.unique(cards[stores == top])
    k = len(np.unique(cards[~np.isin(cards, dropped)]))
    if k < config.min_fraud_cards:
        return 0.0
    per_store = ev.store_exposed([(p.key, p.start_us, p.end_us)])[0]
    n = float(max(sum(c for s, c in per_store.items() if s != ev.store_ids[top]), k))
    fraud_first = ev.fraud_first[active]
    eligible = len(fraud_first) - np.searchsorted(fraud_first, p.start_us, side="right")
    fraud_eff = max(eligible, k) * ev.ratio
    pop = max(ev.population, n)
    log_p = float(log_p_windows(np.array([k]), np.array([n]), pop, np.array([fraud_eff]))[0])
    fixed = p.start_us <= ev.start_us and p.end_us >= ev.as_of_us
    if not fixed:  # a localised window: the scan correction, as when it was chosen
        days = max((p.end_us - p.start_us) / DAY_US, config.min_window_days)
        log_p += math.log(max(1.0, (k - n * fraud_eff / pop) * ev.span_days / days))
    n_windows = 2 + len(config.recent_days)
    families = 2 if config.concentration else 1
    fix = correction(p.level, ev.tested, config.split_alpha, n_windows)
    return log_p + fix + math.log(strata) + math.log(families)
