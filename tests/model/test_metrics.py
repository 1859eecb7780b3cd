from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardwatch.model import (
    average_precision,
    card_precision_at_k,
    daily_card_precision_at_k,
    roc_auc,
)


def _handbook_cp_at_k(frame: pd.DataFrame, k: int) -> float:
    """The Handbook's card_precision_top_k, transcribed (Le Borgne et al., chapter 4.2)."""
    detected: list[str] = []
    per_day = []
    for day in sorted(frame["day"].unique()):
        df_day = frame[frame["day"] == day][["predictions", "card", "label"]]
        df_day = df_day[~df_day["card"].isin(detected)]
        df_day = df_day.groupby("card").max().sort_values("predictions", ascending=False)
        top = df_day.head(k)
        found = list(top[top["label"] == 1].index)
        per_day.append(len(found) / k)
        detected.extend(found)
    return float(np.mean(per_day))


def test_card_precision_by_hand() -> None:
    # day 1: cards a (max 0.9, fraud), b (0.8, honest), c (0.5, fraud), d (0.1, honest)
    # top 2 = a, b → 1/2. day 2: a detected → removed; c (0.95, fraud), d (0.6), b (0.3)
    # → c, d → 1/2
    # day 3: a, c removed; b (0.9, fraud now), d (0.2) → 1/2
    days = np.array([1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
    cards = np.array(["a", "a", "b", "c", "d", "a", "b", "c", "d", "a", "b", "c", "d"])
    scores = np.array([0.9, 0.1, 0.8, 0.5, 0.1, 0.99, 0.3, 0.95, 0.6, 0.99, 0.9, 0.99, 0.2])
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0])
    daily = daily_card_precision_at_k(days, cards, scores, labels, k=2)
    assert daily["cp_at_k"].tolist() == [0.5, 0.5, 0.5]
    assert daily["removed"].tolist() == [0, 1, 2]
    assert card_precision_at_k(days, cards, scores, labels, k=2) == 0.5


def test_known_compromised_cards_are_removed() -> None:
    days = np.array([1, 1, 1])
    cards = np.array(["a", "b", "c"])
    scores = np.array([0.9, 0.8, 0.1])
    labels = np.array([1, 0, 1])
    assert card_precision_at_k(days, cards, scores, labels, k=1) == 1.0
    known = {1: {"a"}}
    assert card_precision_at_k(days, cards, scores, labels, k=1, known_compromised=known) == 0.0
    assert card_precision_at_k(days, cards, scores, labels, k=2, known_compromised=known) == 0.5


def test_timestamps_are_grouped_by_day() -> None:
    ts = pd.to_datetime(["2018-08-08 01:00", "2018-08-08 23:00", "2018-08-09 12:00"], utc=True)
    daily = daily_card_precision_at_k(
        ts.to_numpy(), np.array(["a", "b", "a"]), np.array([0.9, 0.1, 0.5]), np.array([1, 0, 1]),
        k=1,
    )  # fmt: skip
    assert daily["cp_at_k"].tolist() == [1.0, 0.0]  # a is detected on the 8th, gone on the 9th


def test_matches_the_handbook_reference_on_random_data() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    frame = pd.DataFrame(
        {
            "day": rng.integers(0, 7, n),
            "card": rng.integers(0, 400, n).astype(str),
            "predictions": rng.random(n),
            "label": (rng.random(n) < 0.05).astype(int),
        }
    )
    ours = card_precision_at_k(
        frame["day"].to_numpy(), frame["card"].to_numpy(), frame["predictions"].to_numpy(),
        frame["label"].to_numpy(), k=20,
    )  # fmt: skip
    assert ours == pytest.approx(_handbook_cp_at_k(frame, 20))


def test_auc_and_ap() -> None:
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    assert roc_auc(y, s) == 0.75
    assert average_precision(y, s) == pytest.approx((1 + 2 / 3) / 2)
    assert np.isnan(roc_auc(np.zeros(3), np.ones(3)))
    assert np.isnan(average_precision(np.zeros(3), np.ones(3)))
