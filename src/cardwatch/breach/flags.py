"""Exposure flags for the decision engine, from breaches and their exposed cards.

:class:`ExposureIndex` implements the engine's ``Exposure`` protocol over plain records, so the
live service (through :class:`cardwatch.respond.StoreExposure`) and ``cardwatch replay`` ask
the same question the same way. A card counts as exposed from the moment the issuer learnt of
the breach (``Breach.detected_at``), not from the window's start: a replay must not tighten
decisions on knowledge nobody had yet. ``counterfeit_risk`` holds when the thieves took track
data — a breach of tills or ATMs, where cards were present — because that is what lets them
write counterfeit magstripe cards; a web shop's breach leaks card numbers and CVV2, which the
engine meets by challenging card-not-present payments instead. A card that a later analysis
added to a breach (its window widened) counts from that analysis (``Exposure.added_at``), not from
the breach's first detection.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cardwatch.engine import ExposureFlags
from cardwatch.store.records import Breach
from cardwatch.store.records import Exposure as ExposureRecord

__all__ = ["INACTIVE", "CardExposure", "ExposureIndex", "counterfeit_risk"]

#: Breach statuses that no longer flag their cards: a false alarm, or a response finished
#: (cards reissued, so the exposed ones are dead).
INACTIVE = frozenset({"dismissed", "closed"})
_NOT_EXPOSED = ExposureFlags()


def counterfeit_risk(breach: Breach) -> bool:
    """Whether track data was taken. A breach recorded without that evidence (created by hand
    in the console, say) is taken to be of tills: the common case, and the cautious one.

    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> counterfeit_risk(Breach("m1", t, t, 9.0, t, evidence={"data_stolen": "card_not_present"}))
    False
    >>> counterfeit_risk(Breach("m1", t, t, 9.0, t))
    True
    """
    return breach.evidence.get("data_stolen", "track") == "track"


@dataclass(frozen=True, slots=True)
class CardExposure:
    """One card's exposure to one breach, from ``known_from`` on."""

    breach_id: str
    known_from: datetime
    counterfeit_risk: bool


class ExposureIndex:
    """Every exposed card's breaches, looked up in a dict (most cards are not exposed, and the
    engine asks on every payment).

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2013, 12, 19, tzinfo=UTC)
    >>> b = Breach("BIGMART", t - timedelta(days=20), t - timedelta(days=4), 9.0, t,
    ...            breach_id="brc_1")
    >>> idx = ExposureIndex.build([(b, [ExposureRecord("brc_1", "c1", 100.0, 1)])])
    >>> idx.flags("c1", t - timedelta(days=1))
    ExposureFlags(exposed=False, counterfeit_risk=False)
    >>> idx.flags("c1", t)
    ExposureFlags(exposed=True, counterfeit_risk=True)
    >>> idx.flags("c2", t).exposed, sorted(idx.card_ids())
    (False, ['c1'])
    """

    def __init__(self, cards: Mapping[str, tuple[CardExposure, ...]]) -> None:
        self.cards = cards

    @classmethod
    def build(cls, breaches: Iterable[tuple[Breach, Iterable[ExposureRecord]]]) -> ExposureIndex:
        """From each breach and its exposed cards; inactive breaches are left out."""
        cards: dict[str, list[CardExposure]] = {}
        for breach, exposures in breaches:
            if breach.status in INACTIVE:
                continue
            item = CardExposure(breach.breach_id, breach.detected_at, counterfeit_risk(breach))
            for e in exposures:
                if e.added_at is not None and e.added_at > breach.detected_at:
                    later = CardExposure(breach.breach_id, e.added_at, item.counterfeit_risk)
                    cards.setdefault(e.card_id, []).append(later)
                else:
                    cards.setdefault(e.card_id, []).append(item)
        return cls({card: tuple(items) for card, items in cards.items()})

    def flags(self, card_id: str, at: datetime) -> ExposureFlags:
        """Exposed when any breach of the card was known at ``at``; counterfeit risk when any
        such breach took track data."""
        items = self.cards.get(card_id)
        if not items:
            return _NOT_EXPOSED
        known = [i for i in items if i.known_from <= at]
        if not known:
            return _NOT_EXPOSED
        return ExposureFlags(True, any(i.counterfeit_risk for i in known))

    def card_ids(self) -> Collection[str]:
        return self.cards.keys()

    def __len__(self) -> int:
        return len(self.cards)
