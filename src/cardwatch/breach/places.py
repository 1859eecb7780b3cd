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

__all__ = ["PlaceScore", "correction", "prefetch", "score_places"]


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
        return base + math.log(len(levels)) + math.log(max(tested[level], 1))
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
    out = []
    alpha = math.log(config.alpha)
    for log_p, p, idx, ws, we, k, n, expected in best.values():
        inside = idx[(ev.ts[idx] >= ws) & (ev.ts[idx] <= we)]
        cards_in = np.unique(ev.card[inside])
        alerts = log_p <= alpha  # only an alert needs its tills and stores listed
        out.append(PlaceScore(
            level=p.level, key=p.key,
            chain=p.key if p.level == "chain" else _chain_of(ev.names[p.idx], ev.chains),
            start_us=ws, end_us=we, fraud_cards=k, exposed_cards=n, expected=expected,
            log_p=log_p, blame=p.blame,
            first_fraud_us=int(ev.first[cards_in].min()) if len(cards_in) else 0,
            places_tested=tested, card_ids=ev.card_ids[cards_in].tolist(),
            terminals=_counts(ev.terminals[inside], ev.card[inside]) if alerts else [],
            stores=_counts(ev.store_ids[ev.store[inside]], ev.card[inside]) if alerts else [],
        ))  # fmt: skip
    return sorted(out, key=lambda s: (s.log_p, s.level, s.key))


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
