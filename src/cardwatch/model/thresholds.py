"""Score thresholds set by how many honest cardholders they hurt, not by a round number.

Why: a threshold of "0.5" means nothing to the bank or its customers; "at most 0.1% of honest
payments declined" does (Stripe reports about that rate). So thresholds are read off the scores
of honest transactions that the model did not train on: the decline threshold is the lowest one
above which at most ``target_false_decline_rate`` of them fall, the challenge threshold the
lowest one above which at most the declines plus ``target_challenge_rate`` fall.

Convention shared with the engine: a score strictly **above** a threshold triggers its action.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Thresholds", "choose_thresholds", "threshold_for_rate"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decline when ``score > decline``, else challenge when ``score > challenge``."""

    decline: float
    challenge: float
    target_false_decline_rate: float
    target_challenge_rate: float
    honest_count: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, float | int]) -> Thresholds:
        return cls(
            decline=float(data["decline"]),
            challenge=float(data["challenge"]),
            target_false_decline_rate=float(data["target_false_decline_rate"]),
            target_challenge_rate=float(data["target_challenge_rate"]),
            honest_count=int(data["honest_count"]),
        )


def threshold_for_rate(scores_of_honest: np.ndarray, rate: float) -> float:
    """The lowest threshold with at most ``rate`` of ``scores_of_honest`` strictly above it.

    >>> s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    >>> threshold_for_rate(s, 0.2)  # 0.9 and 1.0 are above 0.8
    0.8
    >>> threshold_for_rate(s, 0.0)
    1.0
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    s = np.asarray(scores_of_honest, dtype=np.float64)
    s = s[~np.isnan(s)]
    if s.size == 0:
        raise ValueError("no honest scores to set a threshold from")
    allowed = math.floor(rate * s.size + 1e-9)  # honest rows allowed strictly above
    if allowed >= s.size:
        return float(np.nextafter(s.min(), -np.inf))
    # the (allowed + 1)-th largest score: only `allowed` rows (fewer with ties) lie above it
    return float(np.partition(s, s.size - 1 - allowed)[s.size - 1 - allowed])


def choose_thresholds(
    scores_of_honest: np.ndarray,
    target_false_decline_rate: float = 0.001,
    target_challenge_rate: float = 0.01,
) -> Thresholds:
    """Decline and challenge thresholds from the scores of honest transactions.

    At most ``target_false_decline_rate`` of the honest rows score above ``decline``, and at most
    ``target_false_decline_rate + target_challenge_rate`` above ``challenge`` (so at most about
    ``target_challenge_rate`` are challenged). Use scores the model was not trained on: training
    scores of honest rows are too low, and thresholds set on them decline too many.

    >>> honest = np.linspace(0.0, 1.0, 1001)
    >>> t = choose_thresholds(honest, 0.001, 0.01)
    >>> round(t.decline, 3), round(t.challenge, 3)
    (0.999, 0.989)
    >>> float(np.mean(honest > t.decline)) <= 0.001
    True
    """
    decline = threshold_for_rate(scores_of_honest, target_false_decline_rate)
    challenge = threshold_for_rate(
        scores_of_honest, min(1.0, target_false_decline_rate + target_challenge_rate)
    )
    return Thresholds(
        decline=decline,
        challenge=min(challenge, decline),
        target_false_decline_rate=target_false_decline_rate,
        target_challenge_rate=target_challenge_rate,
        honest_count=int(np.count_nonzero(~np.isnan(np.asarray(scores_of_honest, float)))),
    )
