"""Detection quality, measured the way the Fraud-Detection Handbook measures it.

Why card precision@k: an analyst team can check about k cards a day, and blocking a card stops
all its fraud, so what matters is how many of the day's k most suspicious *cards* are really
compromised. Cards whose fraud is already known (found on an earlier day, or reported before the
day) are removed first: finding them again is no achievement. AUC and average precision are the
transaction-level summaries everyone else reports, kept beside it for comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = [
    "average_precision",
    "card_precision_at_k",
    "daily_card_precision_at_k",
    "evaluate",
    "roc_auc",
]


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present.

    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(labels)
    if np.unique(y).size < 2:
        return float("nan")
    return float(roc_auc_score(y, scores))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve); NaN without a fraud.

    >>> average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.8333333333333333
    """
    y = np.asarray(labels)
    if not (y == 1).any():
        return float("nan")
    return float(average_precision_score(y, scores))


def daily_card_precision_at_k(
    days: np.ndarray,
    card_ids: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    k: int = 100,
    known_compromised: Mapping[Any, Iterable[Any]] | None = None,
) -> pd.DataFrame:
    """Card precision@k for each day, as a table ``day, cp_at_k, cards, fraud_cards, removed``.

    ``days`` are day labels (dates, or timestamps, which are floored to the day); on each day
    every card is scored by its highest transaction score and labelled by its highest label.
    Cards found fraudulent among the top k of an earlier day of this evaluation are removed
    from later days, as are the cards in ``known_compromised[day]`` (e.g. fraud reported before
    the day). The denominator is k, even on a day with fewer cards, as in the Handbook.
    """
    d = pd.Series(np.asarray(days))
    if pd.api.types.is_datetime64_any_dtype(d):
        d = d.dt.floor("D")
    frame = pd.DataFrame(
        {
            "day": d.to_numpy(),
            "card": np.asarray(card_ids),
            "score": np.asarray(scores, dtype=np.float64),
            "label": np.asarray(labels, dtype=np.int64),
        }
    )
    per_card = frame.groupby(["day", "card"], sort=True).agg(
        score=("score", "max"), label=("label", "max")
    )
    detected: set[Any] = set()
    rows = []
    for day, cards in per_card.groupby(level="day", sort=True):
        cards = cards.droplevel("day")
        known = set(known_compromised.get(day, ())) if known_compromised else set()
        removed = known | detected
        keep = cards[~cards.index.isin(list(removed))] if removed else cards
        top = keep.sort_values("score", ascending=False, kind="stable").head(k)
        hits = top.index[top["label"].to_numpy() == 1]
        detected.update(hits)
        rows.append(
            {
                "day": day,
                "cp_at_k": len(hits) / k,
                "cards": len(keep),
                "fraud_cards": int(keep["label"].sum()),
                "removed": len(cards) - len(keep),
            }
        )
    return pd.DataFrame(rows, columns=["day", "cp_at_k", "cards", "fraud_cards", "removed"])


def card_precision_at_k(
    days: np.ndarray,
    card_ids: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    k: int = 100,
    known_compromised: Mapping[Any, Iterable[Any]] | None = None,
) -> float:
    """Mean over days of :func:`daily_card_precision_at_k`: the Handbook's CP@k.

    Day 1: cards a (0.9, fraud), b (0.8, honest), c (0.1, fraud) → top 2 hold 1 fraud: 0.5.
    Day 2: a was detected on day 1 and is removed; c (0.7, fraud), b (0.2) → 1 / 2 = 0.5.

    >>> card_precision_at_k(
    ...     days=np.array([1, 1, 1, 1, 2, 2, 2]),
    ...     card_ids=np.array(["a", "a", "b", "c", "a", "b", "c"]),
    ...     scores=np.array([0.2, 0.9, 0.8, 0.1, 0.99, 0.2, 0.7]),
    ...     labels=np.array([0, 1, 0, 1, 1, 0, 1]),
    ...     k=2,
    ... )
    0.5
    """
    daily = daily_card_precision_at_k(days, card_ids, scores, labels, k, known_compromised)
    return float(daily["cp_at_k"].mean()) if len(daily) else float("nan")


def evaluate(
    days: np.ndarray,
    card_ids: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    k: int = 100,
    known_compromised: Mapping[Any, Iterable[Any]] | None = None,
) -> dict[str, float]:
    """AUC, average precision and card precision@k of one test period, as one record.

    >>> evaluate(np.array([1, 1, 1, 1]), np.array(["a", "b", "c", "d"]),
    ...          np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]), k=2)
    {'auc': 0.75, 'average_precision': 0.8333333333333333, 'card_precision_at_2': 0.5, \
'transactions': 4, 'frauds': 2}
    """
    y = np.asarray(labels)
    return {
        "auc": roc_auc(y, scores),
        "average_precision": average_precision(y, scores),
        f"card_precision_at_{k}": card_precision_at_k(
            days, card_ids, scores, y, k=k, known_compromised=known_compromised
        ),
        "transactions": int(y.size),
        "frauds": int((y == 1).sum()),
    }
