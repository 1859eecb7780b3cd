"""A suspected point of compromise: what ``cardwatch breach detect`` reports, best first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Held", "Suspect", "from_us"]


def from_us(us: int) -> datetime:
    """An aware UTC datetime from microseconds since the epoch.

    >>> from_us(0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(us / 1e6, tz=UTC)


@dataclass(frozen=True, slots=True)
class Suspect:
    """A store, or a chain of stores sharing ``merchant_name``, where defrauded cards paid
    before their first fraud far more often than chance allows, and when.

    ``merchant_id`` is the store, or the chain's name when ``level == "chain"``;
    ``merchant_ids`` lists the stores involved (defrauded cards' stores first). ``score`` is
    ``-log10`` of ``p_value``, the Bonferroni-adjusted probability of this much coincidence
    anywhere among ``places_tested``. ``fraud_cards`` defrauded cards paid there in the window,
    among ``exposed_cards`` distinct cards; chance alone would explain ``expected_fraud_cards``.
    ``ongoing``: the evidence does not show the leak's end (victims of the latest payments cannot
    have been reported yet), so ``window_end`` is the run's ``as_of``, not the last victim's
    visit: every card that paid there since ``window_start`` is exposed.
    ``basis``: what counted as a defrauded card — ``"reports"`` (fraud reported by ``as_of``) or
    ``"counterfeit_use"`` (cards seen paying as clones, reported or not: early, unconfirmed
    evidence; ``fraud_cards`` then counts those cards).
    """

    merchant_id: str
    level: str
    chain: str | None
    merchant_ids: tuple[str, ...]
    terminal_ids: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    score: float
    p_value: float
    fraud_cards: int
    exposed_cards: int
    expected_fraud_cards: float
    first_fraud_at: datetime
    blame: float
    places_tested: int
    fraud_card_ids: tuple[str, ...] = ()
    ongoing: bool = False
    basis: str = "reports"

    @property
    def key(self) -> str:
        """Identity across daily re-runs (``store:ID`` or ``chain:NAME``)."""
        return f"{self.level}:{self.merchant_id}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the public contract (times in ISO 8601, UTC).

        >>> from datetime import datetime, UTC
        >>> t = datetime(2013, 11, 27, tzinfo=UTC)
        >>> s = Suspect("m1", "store", None, ("m1",), ("t1",), t, t, 9.5, 3e-10, 12, 400, 0.4,
        ...             t, 1.0, 250)
        >>> d = s.to_dict()
        >>> d["merchant_id"], d["window_start"], d["fraud_cards"], "fraud_card_ids" in d
        ('m1', '2013-11-27T00:00:00+00:00', 12, False)
        """
        return {
            "merchant_id": self.merchant_id,
            "level": self.level,
            "chain": self.chain,
            "merchant_ids": list(self.merchant_ids),
            "terminal_ids": list(self.terminal_ids),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "score": round(self.score, 3),
            "p_value": self.p_value,
            "fraud_cards": self.fraud_cards,
            "exposed_cards": self.exposed_cards,
            "expected_fraud_cards": round(self.expected_fraud_cards, 3),
            "first_fraud_at": self.first_fraud_at.isoformat(),
            "blame": round(self.blame, 4),
            "places_tested": self.places_tested,
            "ongoing": self.ongoing,
            "basis": self.basis,
        }


@dataclass(frozen=True, slots=True)
class Held:
    """Two places the evidence cannot yet tell apart, so neither is alerted: every defrauded card
    of ``place``, whose evidence alone would alert, also paid at ``rival`` in its window, and the
    rival's evidence is nearly as strong (``DetectConfig.hold_ambiguous``). The next victims,
    who paid at one and not the other, usually decide within a day; until then an analyst who
    knows more (the merchant's own security team, a card shop's listing) can respond to either
    by its key, and should at least know that one of the two is probably leaking.
    """

    place: Suspect
    rival: Suspect

    def describe(self) -> str:
        """One line for a person.

        >>> from datetime import datetime, UTC
        >>> t = datetime(2013, 12, 4, tzinfo=UTC)
        >>> def s(m, level, n):
        ...     return Suspect(m, level, None, (m,), (), t, t, 3.0, 1e-3, n, 900, 1.0, t, 0.0, 9)
        >>> Held(s("Burger Express", "chain", 6), s("M0042", "store", 7)).describe()
        'Burger Express (chain) or M0042 (store): all 6 defrauded cards of the first paid at both'
        """
        return (
            f"{self.place.merchant_id} ({self.place.level}) or {self.rival.merchant_id} "
            f"({self.rival.level}): all {self.place.fraud_cards} defrauded cards of the first "
            "paid at both"
        )

    def to_dict(self) -> dict[str, Any]:
        """Both places in the shape of :meth:`Suspect.to_dict`, and the line for a person."""
        return {
            "place": self.place.to_dict(),
            "rival": self.rival.to_dict(),
            "shared_fraud_cards": self.place.fraud_cards,
            "text": self.describe(),
        }
