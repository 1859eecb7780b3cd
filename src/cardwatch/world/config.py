"""The knobs of the synthetic world, frozen so that a world is a pure function of its config.

A later breach-evaluation benchmark sweeps seeds × breach size × share defrauded × delay ×
decoys; every one of those is an explicit field here, and changing a fraud knob leaves the
honest spending of the same seed unchanged (each part of the world draws from its own stream).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from cardwatch.errors import ConfigurationError

__all__ = ["BreachConfig", "FraudConfig", "HandbookConfig", "WorldConfig"]


@dataclass(frozen=True)
class BreachConfig:
    """A 2013-style till breach: every chosen terminal of one chain leaks the cards it reads.

    ``chain`` names the chain; ``None`` picks the chain ranked ``chain_rank`` by number of stores
    (0 = the largest). ``stores`` compromises only that many stores (the busiest first are not
    favoured: they are drawn at random); ``None`` compromises every store. Frauds start
    ``delay_days`` after the breach starts (the time for the data to reach a card shop), each
    victim card waiting a further exponential time of mean ``spread_days``.
    """

    chain: str | None = "Grand Bazar"
    chain_rank: int = 0
    stores: int | None = None
    start_day: int = 45
    window_days: int = 19
    share_defrauded: float = 0.05
    delay_days: float = 4.0
    spread_days: float = 10.0
    frauds_per_card: float = 4.0
    cnp_share: float = 0.35
    report_share: float = 0.9


@dataclass(frozen=True)
class FraudConfig:
    """Everything else that goes wrong: decoy breaches, skimmers, and background fraud.

    Background rates are the share of cards hit per 30 days. Decoy breaches are smaller real
    compromises (a few stores of another chain) that run at random times: a breach detector must
    rank them without losing the main one.
    """

    decoys: int = 0
    decoy_stores: int = 2
    decoy_window_days: int = 14
    decoy_share_defrauded: float = 0.08
    skimmers: int = 1
    skimmer_window_days: int = 21
    skimmer_share_defrauded: float = 0.4
    card_testing_rate: float = 0.0008
    lost_stolen_rate: float = 0.0015
    phishing_rate: float = 0.003
    report_share: float = 0.85
    testing_cashout_share: float = 0.6


@dataclass(frozen=True)
class WorldConfig:
    """A synthetic issuer portfolio (preset ``default``): cards, habits, merchants, fraud.

    About 0.83 transactions per card and day: the default 10,000 cards over 120 days make about
    a million transactions. The start date puts the breach (day 45, 19 days) on 27 November, the
    day the 2013 breach began, with two months after it for frauds and reports.
    """

    seed: int = 0
    cards: int = 10_000
    start: date = date(2025, 10, 13)
    days: int = 120
    tx_per_card_day: float = 0.8
    abroad_share: float = 0.05
    traveller_share: float = 0.15
    web_pro_share: float = 0.2
    breach: BreachConfig = field(default_factory=BreachConfig)
    fraud: FraudConfig = field(default_factory=FraudConfig)

    def __post_init__(self) -> None:
        if self.cards < 10:
            raise ConfigurationError(f"cards must be at least 10, got {self.cards}")
        if self.days < 7:
            raise ConfigurationError(f"days must be at least 7, got {self.days}")
        b = self.breach
        if b.start_day < 0 or b.window_days < 1 or b.start_day + b.window_days > self.days:
            raise ConfigurationError(
                f"breach window days {b.start_day}..{b.start_day + b.window_days} "
                f"does not fit in {self.days} days"
            )
        if not 0.0 <= b.share_defrauded <= 1.0:
            raise ConfigurationError(f"share_defrauded must be in [0, 1], got {b.share_defrauded}")

    def resized(self, cards: int | None = None, days: int | None = None) -> WorldConfig:
        """The same world with another size; a shorter history moves the breach to fit.

        >>> WorldConfig().resized(days=40).breach.start_day
        15
        """
        new_days = days if days is not None else self.days
        breach = self.breach
        if days is not None and days != self.days:
            start = round(breach.start_day * new_days / self.days)
            window = max(1, min(breach.window_days, new_days // 6))
            breach = replace(breach, start_day=start, window_days=window)
        return replace(
            self, cards=cards if cards is not None else self.cards, days=new_days, breach=breach
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, recorded in ``truth.json`` so a world can be rebuilt from its file."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        return out


@dataclass(frozen=True)
class HandbookConfig:
    """The Fraud-Detection Handbook's simulator parameters (Le Borgne et al. 2022, chapter 3)."""

    seed: int = 0
    customers: int = 5_000
    terminals: int = 10_000
    start: date = date(2018, 4, 1)
    days: int = 183
    radius: float = 5.0
    compromised_terminals_per_day: int = 2
    terminal_compromise_days: int = 28
    compromised_customers_per_day: int = 3
    customer_compromise_days: int = 14

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = self.start.isoformat()
        return out
