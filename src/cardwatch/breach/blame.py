"""BreachRadar's alternating blame scores (Araujo et al., SIAM SDM 2017, arXiv 2009.11751).

Each defrauded card holds one unit of blame and spreads it over the places it paid at before its
first fraud, in proportion to how much it used each place and how suspicious each place currently
is; a place's suspicion is the blame it received divided by how many cards pay there at all. The
two are updated in turn until they settle. A card that visited one guilty place and many innocent
ones ends up blaming the guilty place, and a supermarket every card visits collects a lot of blame
but divides it by a huge number of cards. It is reported beside the hypergeometric evidence, which
alone decides alerts (blame has no null distribution to set a threshold with).
"""

from __future__ import annotations

import numpy as np

__all__ = ["blame_scores"]


def blame_scores(
    card: np.ndarray,
    place: np.ndarray,
    weight: np.ndarray,
    place_cards: np.ndarray,
    iterations: int = 50,
    tol: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray]:
    """Blame received by each place and its suspicion score (max 1).

    ``card``, ``place`` (dense indices) and ``weight`` (payments) list the edges between
    defrauded cards and the places they used; ``place_cards`` is the number of distinct cards
    that pay at each place.

    >>> card = np.array([0, 0, 1, 1, 2, 2])
    >>> place = np.array([0, 1, 0, 1, 0, 2])  # place 0 is shared, place 1 is busy
    >>> blame, score = blame_scores(card, place, np.ones(6), np.array([10.0, 1000.0, 10.0]))
    >>> int(np.argmax(score)), round(float(blame.sum()), 6)
    (0, 3.0)
    """
    n_cards = int(card.max()) + 1 if len(card) else 0
    n_places = len(place_cards)
    seen = np.bincount(place, minlength=n_places).astype(np.float64)
    denom = np.maximum(place_cards.astype(np.float64), np.maximum(seen, 1.0))
    score = np.ones(n_places)
    blame = np.zeros(n_places)
    for _ in range(iterations):
        contrib = weight * score[place]
        total = np.bincount(card, contrib, minlength=n_cards)
        share = np.divide(contrib, total[card], out=np.zeros_like(contrib), where=total[card] > 0)
        blame = np.bincount(place, share, minlength=n_places)
        new = blame / denom
        top = new.max() if len(new) else 0.0
        if top <= 0:
            break
        new /= top
        done = np.abs(new - score).max() < tol
        score = new
        if done:
            break
    return blame, score
