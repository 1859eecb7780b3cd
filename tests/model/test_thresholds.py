from __future__ import annotations

import numpy as np
import pytest

from cardwatch.model import Thresholds, choose_thresholds, threshold_for_rate


@pytest.mark.parametrize("rate", [0.0, 0.0005, 0.001, 0.01, 0.05, 0.5, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_share_above_threshold_never_exceeds_the_target(rate: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.beta(0.5, 20, 7919), 3)  # many ties
    t = threshold_for_rate(scores, rate)
    assert np.mean(scores > t) <= rate
    if rate > 0:  # and it is the lowest such threshold: one step below breaks the target
        below = scores[scores < t]
        if below.size:
            assert np.mean(scores > below.max()) > rate


def test_choose_thresholds_orders_decline_above_challenge() -> None:
    scores = np.random.default_rng(0).random(10_000)
    t = choose_thresholds(scores, 0.001, 0.01)
    assert t.challenge <= t.decline
    assert np.mean(scores > t.decline) <= 0.001
    assert np.mean(scores > t.challenge) <= 0.011
    assert np.mean(scores > t.challenge) > 0.009
    assert Thresholds.from_dict(t.to_dict()) == t


def test_nans_are_ignored_and_empty_input_refused() -> None:
    assert threshold_for_rate(np.array([np.nan, 0.2, 0.4]), 0.5) == 0.2
    with pytest.raises(ValueError):
        threshold_for_rate(np.array([np.nan]), 0.1)
    with pytest.raises(ValueError):
        threshold_for_rate(np.array([0.1]), 1.5)
