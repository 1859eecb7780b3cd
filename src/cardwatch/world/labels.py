"""What the issuer learns, and when: cardholder reports, blocked cards and their replacements.

A cardholder reports all the frauds on a card at once, some hours to some weeks after noticing;
the card is then blocked (later frauds never happen: they would be declined) and a replacement
card with a new id carries the holder's spending from then on. Some victims never report: their
frauds stay ``is_fraud = 0`` in the file and only the ``scenario`` column tells the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardwatch.world.fraudkit import Victims
from cardwatch.world.rows import Rows

__all__ = ["Labels", "report_delays", "settle"]

_HOUR = 3600
_DAY = 86_400


def report_delays(fast: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seconds from noticing-time to report: hours for a missing card; otherwise mostly within
    days (app notifications), a third at the monthly statement, a tenth weeks later (chargeback).

    >>> d = report_delays(np.zeros(10_000, bool), np.random.default_rng(1))
    >>> 0.5 < float(np.mean(d < 7 * 86_400)) < 0.7
    True
    """
    n = len(fast)
    u = rng.random(n)
    quick = rng.lognormal(np.log(1.2 * _DAY), 0.8, n)
    statement = rng.lognormal(np.log(14 * _DAY), 0.45, n)
    late = rng.uniform(30 * _DAY, 60 * _DAY, n)
    normal = np.where(u < 0.58, quick, np.where(u < 0.9, statement, late))
    missing = rng.lognormal(np.log(6 * _HOUR), 0.7, n)
    return np.maximum(np.where(fast, missing, normal), 15 * 60).astype(np.int64)


@dataclass
class Labels:
    """The settled world: all rows, their labels, and the card replacements."""

    rows: Rows
    is_fraud: np.ndarray  # int8
    reported_at: np.ndarray  # int64 UTC seconds, -1 for none
    victims: Victims
    reported: np.ndarray  # per victim: bool
    report_ts: np.ndarray  # per victim: int64, -1 when never reported
    replaced: np.ndarray  # card numbers that were replaced (sorted)
    replacement: np.ndarray  # their new card numbers
    replaced_at: np.ndarray  # when


def settle(honest: Rows, fraud: Rows, victims: Victims, n_cards: int,
           rng: np.random.Generator) -> Labels:  # fmt: skip
    """Apply reports: label, block, reissue. Each victim card has one incident."""
    reported = rng.random(len(victims.card)) < victims.report_p
    report_ts = np.where(reported, victims.notice + report_delays(victims.fast, rng), -1)
    per_card = np.full(n_cards, -1, dtype=np.int64)
    per_card[victims.card] = report_ts
    blocked = per_card[fraud.card]
    fraud = fraud.take((blocked < 0) | (fraud.ts <= blocked))
    rep = per_card[fraud.card]
    is_fraud = (rep >= 0).astype(np.int8)

    # A lost card is not used by its holder between the theft and the report (or a day).
    black = np.full(n_cards, -1, dtype=np.int64)
    black_end = np.full(n_cards, -1, dtype=np.int64)
    has = victims.blackout >= 0
    black[victims.card[has]] = victims.blackout[has]
    black_end[victims.card[has]] = np.where(
        report_ts[has] >= 0, report_ts[has], victims.blackout[has] + _DAY
    )
    b0, b1 = black[honest.card], black_end[honest.card]
    honest = honest.take(~((b0 >= 0) & (honest.ts >= b0) & (honest.ts <= b1)))

    order = np.argsort(victims.card[reported], kind="stable")
    replaced = victims.card[reported][order]
    replaced_at = report_ts[reported][order]
    replacement = np.arange(n_cards, n_cards + len(replaced), dtype=np.int32)
    new_id = np.full(n_cards, -1, dtype=np.int32)
    new_id[replaced] = replacement
    after = (per_card[honest.card] >= 0) & (honest.ts > per_card[honest.card])
    honest.card = np.where(after, new_id[honest.card], honest.card).astype(np.int32)

    rows = Rows.concat([honest, fraud])
    return Labels(
        rows=rows,
        is_fraud=np.concatenate([np.zeros(len(honest), np.int8), is_fraud]),
        reported_at=np.concatenate([np.full(len(honest), -1, np.int64), rep]),
        victims=victims,
        reported=reported,
        report_ts=report_ts,
        replaced=replaced,
        replacement=replacement,
        replaced_at=replaced_at,
    )
