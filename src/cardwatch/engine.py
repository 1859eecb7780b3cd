"""The decision: profiles + model + rules + cardholder controls + breach exposure → Decision.

Order, each step with its reason:

1. **Cardholder controls** first: the cardholder's own word beats any model. A frozen card is
   declined ``62``; a payment the cardholder blocked (remote payments, abroad, a country, a
   merchant category, over their own limit) ``57``; a merchant they allow-listed, or a retry they
   confirmed with "it was me", is approved ``00``.
2. **Breach exposure**: counterfeit magstripe use abroad on a card whose track data was stolen is
   declined ``59`` outright; exposed cards get the policy's tighter score cut-offs, and a
   card-not-present payment on an exposed card is at least challenged.
3. **Rules**, the Radar way (allow → challenge → decline → review, first match decides). An allow,
   challenge or decline rule decides; a review rule approves with an alert unless the model
   would challenge or decline.
4. **The model**: decline when the score is strictly above the policy's decline cut-off,
   challenge when strictly above the challenge cut-off (the convention of
   :mod:`cardwatch.model.thresholds`).

Response codes: approve/review ``00``, challenge ``05`` (soft decline: the cardholder is told and
can retry after "it was me"), decline ``59``. Every decision that is not an approval carries
reasons. The engine is pure: time comes from the transaction, no clock, no I/O; it scores first,
then (in :meth:`Engine.update`) learns.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from cardwatch.profiles import FEATURE_INDEX, FEATURE_NAMES, ProfileState, to_us
from cardwatch.schema import Action, Decision, Reason, ResponseCode, Transaction

__all__ = [
    "ACTION_CODES",
    "CardControls",
    "ConfirmedPayment",
    "Controls",
    "Engine",
    "Evaluation",
    "Exposure",
    "ExposureFlags",
    "ModelScorer",
    "NoControls",
    "NoExposure",
    "NoRules",
    "Policy",
    "RuleEvaluator",
    "Scorer",
    "ZeroScorer",
    "decision_id",
    "judge",
]

#: Integer codes of actions in vectorised paths, ordered by severity; -1 means "no rule matched".
ACTION_CODES: dict[Action, int] = {
    Action.APPROVE: 0,
    Action.REVIEW: 1,
    Action.CHALLENGE: 2,
    Action.DECLINE: 3,
}
ACTIONS_BY_CODE: tuple[Action, ...] = tuple(ACTION_CODES)
_NAMESPACE = uuid.UUID("5f0b6e4a-4c1d-5b7e-9a57-63617264776a")
_NAMESPACE_BYTES = _NAMESPACE.bytes
_RESPONSE = {
    Action.APPROVE: ResponseCode.APPROVED.value,
    Action.REVIEW: ResponseCode.APPROVED.value,
    Action.CHALLENGE: ResponseCode.DO_NOT_HONOUR.value,
    Action.DECLINE: ResponseCode.SUSPECTED_FRAUD.value,
}
_F_AMOUNT = FEATURE_INDEX["amount"]
_F_CNP = FEATURE_INDEX["card_not_present"]
_F_XB = FEATURE_INDEX["cross_border"]


# ---- what the engine talks to ----------------------------------------------------------------


class Scorer(Protocol):
    """The model: probability of fraud of a feature row, and the features that drove it.

    Rows hold :data:`cardwatch.profiles.FEATURE_NAMES` in order, or the scorer's own
    ``feature_names_in_`` (a subset, by name) when it has that attribute. ``score_batch`` must
    give bit-for-bit the values of ``score`` on each row: replay equals live. A replay calls
    ``score_batch`` from several threads at once (on parts of the history, while the profile
    kernel runs), so it must not change the scorer.
    """

    def score(self, x: np.ndarray) -> float: ...

    def score_batch(self, X: np.ndarray) -> np.ndarray: ...

    def reasons(self, x: np.ndarray, k: int) -> list[Reason]: ...


class RuleEvaluator(Protocol):
    """A rule set: ``match`` for one payment's values, ``match_columns`` for a replay.

    ``match_columns`` returns, per row, the action code (:data:`ACTION_CODES`, -1 when no rule
    matched) and the index of the deciding rule (-1 when none); ``reason_at`` gives that rule's
    reason. Both paths must agree row for row.
    """

    def match(
        self, values: Mapping[str, Any]
    ) -> tuple[Action | None, str | None, Reason | None]: ...

    def match_columns(
        self, columns: Mapping[str, np.ndarray], n: int
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def reason_at(self, index: int) -> Reason: ...


@dataclass(frozen=True, slots=True)
class ConfirmedPayment:
    """One payment the cardholder confirmed with "it was me", as its retry must look.

    The approval covers that payment only: the same merchant, channel and currency, up to
    ``max_amount`` (the amount plus a small margin). A different channel (the card swiped in a
    shop after an online decline) or currency is another payment the cardholder never saw, and
    is decided normally.
    """

    merchant_id: str
    max_amount: float
    channel: str | None = None
    currency: str | None = None

    def covers(
        self, merchant_id: str, amount: float, channel: str | None, currency: str | None
    ) -> bool:
        """Whether a payment is the confirmed one (currencies compared without case).

        >>> c = ConfirmedPayment("m", 110.0, "ecommerce", "EUR")
        >>> c.covers("m", 100.0, "ecommerce", "eur"), c.covers("m", 100.0, "card_present", "EUR")
        (True, False)
        >>> c.covers("m", 100.0, "ecommerce", "GBP"), c.covers("m", 120.0, "ecommerce", "EUR")
        (False, False)
        """
        return (
            merchant_id == self.merchant_id
            and amount <= self.max_amount
            and channel == self.channel
            and (currency or "").upper() == (self.currency or "").upper()
        )


@dataclass(frozen=True, slots=True)
class CardControls:
    """What a cardholder set on their card, in force at a given moment.

    ``confirmed_merchants`` are payments the cardholder confirmed with "it was me" (the controls
    store keeps them only for the minutes the retry needs); ``travel_countries`` are the
    countries of a current travel notice (offered to rules as ``travel_notice``).
    """

    frozen: bool = False
    block_card_not_present: bool = False
    block_abroad: bool = False
    blocked_countries: frozenset[str] = frozenset()
    blocked_mccs: frozenset[str] = frozenset()
    max_amount: float | None = None
    allowed_merchants: frozenset[str] = frozenset()
    confirmed_merchants: frozenset[str] = frozenset()
    travel_countries: frozenset[str] = frozenset()
    blocked_channels: frozenset[str] = frozenset()
    #: "It was me" approvals, each scoped to one payment (merchant, channel, currency, amount).
    confirmed_payments: tuple[ConfirmedPayment, ...] = ()


class Controls(Protocol):
    """Cardholder controls: ``for_card`` at an instant; ``card_ids`` lists every card that may
    have any (a replay asks only about those)."""

    def for_card(self, card_id: str, at: datetime) -> CardControls | None: ...

    def card_ids(self) -> Collection[str]: ...


@dataclass(frozen=True, slots=True)
class ExposureFlags:
    """A card's exposure to a known breach: ``counterfeit_risk`` when track data was taken."""

    exposed: bool = False
    counterfeit_risk: bool = False


class Exposure(Protocol):
    """Breach exposure of cards: ``flags`` at an instant; ``card_ids`` every card that may be
    exposed (a replay asks only about those)."""

    def flags(self, card_id: str, at: datetime) -> ExposureFlags: ...

    def card_ids(self) -> Collection[str]: ...


class NoControls:
    """No cardholder has set anything."""

    def for_card(self, card_id: str, at: datetime) -> CardControls | None:
        return None

    def card_ids(self) -> Collection[str]:
        return ()


_NOT_EXPOSED = ExposureFlags()


class NoExposure:
    """No card is known to be exposed."""

    def flags(self, card_id: str, at: datetime) -> ExposureFlags:
        return _NOT_EXPOSED

    def card_ids(self) -> Collection[str]:
        return ()


class NoRules:
    """An empty rule set: the model alone decides."""

    def match(self, values: Mapping[str, Any]) -> tuple[Action | None, str | None, Reason | None]:
        return None, None, None

    def match_columns(
        self, columns: Mapping[str, np.ndarray], n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return np.full(n, -1, np.int8), np.full(n, -1, np.int64)

    def reason_at(self, index: int) -> Reason:
        raise IndexError(index)


@njit(cache=True, nogil=True)
def _sigmoid_rows(raw, sigmoid):  # type: ignore[no-untyped-def]
    """The model's own scalar sigmoid (``CompiledForest.proba_one``), row by row."""
    out = np.empty(raw.shape[0], np.float64)
    for i in range(raw.shape[0]):
        out[i] = 1.0 / (1.0 + math.exp(-sigmoid * raw[i]))
    return out


class ModelScorer:
    """A trained :class:`cardwatch.model.FraudModel` as a :class:`Scorer`.

    Why an adapter: the batch must equal the single row bit for bit (replay equals live). The
    raw scores come from the same compiled tree walk either way; the sigmoid is applied by the
    same scalar expression as ``score_one``'s, never NumPy's vectorised ``exp`` (which may round
    the last bit differently).


    Reasons use the model's path attributions by default (a few microseconds, where exact
    TreeSHAP takes about a millisecond: too slow for a decision's budget); the same method serves
    live and replay, so their reasons agree. ``threads`` split a large batch (the compiled walk
    releases the GIL; each row is computed exactly as alone).
    """

    def __init__(self, model: Any, reasons_method: str = "path", threads: int = 2) -> None:
        self.model = model
        self.reasons_method = reasons_method
        self.threads = threads
        self.feature_names_in_ = tuple(str(n) for n in model.feature_names_in_)
        self.thresholds_ = getattr(model, "thresholds_", None)

    def score(self, x: np.ndarray) -> float:
        return float(self.model.score_one(x))

    def _raw(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_raw(np.ascontiguousarray(X)), dtype=np.float64)

    def score_batch(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        if self.threads > 1 and n >= 20_000:
            bounds = np.linspace(0, n, self.threads + 1).astype(int)
            with ThreadPoolExecutor(self.threads) as pool:
                parts = pool.map(self._raw, [X[a:b] for a, b in pairwise(bounds.tolist())])
                raw = np.concatenate(list(parts))
        else:
            raw = self._raw(X)
        return _sigmoid_rows(raw, float(self.model.forest_.sigmoid))

    def reasons(self, x: np.ndarray, k: int) -> list[Reason]:
        return list(self.model.reasons(x, k, method=self.reasons_method))


class ZeroScorer:
    """A model that suspects nothing (score 0): for features without a model."""

    def score(self, x: np.ndarray) -> float:
        return 0.0

    def score_batch(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(X.shape[0], np.float64)

    def reasons(self, x: np.ndarray, k: int) -> list[Reason]:
        return []


@dataclass(frozen=True, slots=True)
class Policy:
    """Score cut-offs; exposed cards get the tighter pair. ``reasons_k``: model reasons shown."""

    decline_at: float = 0.9
    challenge_at: float = 0.5
    exposed_decline_at: float = 0.7
    exposed_challenge_at: float = 0.3
    reasons_k: int = 3

    @classmethod
    def from_thresholds(cls, thresholds: object, tighten: float = 0.6) -> Policy:
        """A policy from a model's ``thresholds_`` (an object or a mapping with ``decline`` and
        ``challenge``); exposed cut-offs are ``tighten`` times those unless the mapping gives
        ``exposed_decline`` / ``exposed_challenge``.

        >>> Policy.from_thresholds({"decline": 0.8, "challenge": 0.4}).exposed_challenge_at
        0.24
        """
        if isinstance(thresholds, Mapping):
            get = thresholds.get
        else:

            def get(name: str, default: object = None) -> object:
                return getattr(thresholds, name, default)

        d, c = float(get("decline")), float(get("challenge"))  # type: ignore[arg-type]
        return cls(
            decline_at=d,
            challenge_at=c,
            exposed_decline_at=float(get("exposed_decline", round(d * tighten, 10))),  # type: ignore[arg-type]
            exposed_challenge_at=float(get("exposed_challenge", round(c * tighten, 10))),  # type: ignore[arg-type]
        )


# ---- the decision itself ---------------------------------------------------------------------

_FROZEN = Reason("card_frozen", "The cardholder has frozen this card.")
_ALLOWED = Reason("allowed_merchant", "The cardholder allows payments to this merchant.")
_CONFIRMED = Reason("cardholder_confirmed", "The cardholder confirmed this payment (it was me).")
_EXPOSED_CF = Reason(
    "exposed_counterfeit",
    "Magstripe payment abroad on a card whose data was stolen in a breach: likely counterfeit.",
)
_EXPOSED_CNP = Reason(
    "exposed_card_not_present", "Remote payment on a card whose data was stolen in a breach."
)


def decision_id(txn_id: str) -> str:
    """A decision's id, derived from the transaction so that replay and live agree: the text of
    ``uuid.uuid5(_NAMESPACE, txn_id)``, built without the ``UUID`` object (every live decision
    takes one, and the object cost more than the hash).

    >>> decision_id("t1") == decision_id("t1") != decision_id("t2")
    True
    >>> all(decision_id(t) == str(uuid.uuid5(_NAMESPACE, t)) for t in ("t1", "é-42", ""))
    True
    """
    h = bytearray(hashlib.sha1(_NAMESPACE_BYTES + txn_id.encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


_CHANNEL_WORDS = {
    "card_present": "in-store",
    "ecommerce": "online",
    "moto": "mail and phone order",
    "atm": "cash machine",
}


def control_verdict(
    ctl: CardControls,
    merchant_id: str,
    mcc: str | None,
    country: str | None,
    amount: float,
    card_not_present: bool,
    cross_border: bool,
    channel: str | None = None,
    currency: str | None = None,
) -> tuple[Action, str, list[Reason]] | None:
    """What the cardholder's own controls say about a payment, or None when they are silent.

    >>> control_verdict(CardControls(frozen=True), "m", None, None, 5.0, False, False)[1]
    '62'
    >>> control_verdict(CardControls(block_abroad=True), "m", None, "US", 5.0, False, True)[1]
    '57'
    >>> control_verdict(CardControls(), "m", None, None, 5.0, False, False) is None
    True
    """
    if ctl.frozen:
        return Action.DECLINE, ResponseCode.RESTRICTED_CARD.value, [_FROZEN]
    blocked: Reason | None = None
    if ctl.block_card_not_present and card_not_present:
        blocked = Reason("blocked_card_not_present", "The cardholder blocks remote payments.")
    elif channel is not None and channel in ctl.blocked_channels:
        blocked = Reason(
            "blocked_channel",
            f"The cardholder blocks {_CHANNEL_WORDS.get(channel, channel)} payments.",
        )
    elif ctl.block_abroad and cross_border:
        blocked = Reason("blocked_abroad", "The cardholder blocks payments abroad.")
    elif country is not None and country in ctl.blocked_countries:
        blocked = Reason("blocked_country", f"The cardholder blocks payments in {country}.")
    elif mcc is not None and mcc in ctl.blocked_mccs:
        blocked = Reason("blocked_mcc", f"The cardholder blocks merchant category {mcc}.")
    elif ctl.max_amount is not None and amount > ctl.max_amount:
        blocked = Reason("over_cardholder_limit", "Above the limit the cardholder set.")
    if blocked is not None:
        return Action.DECLINE, ResponseCode.NOT_PERMITTED.value, [blocked]
    if merchant_id in ctl.confirmed_merchants or any(
        c.covers(merchant_id, amount, channel, currency) for c in ctl.confirmed_payments
    ):
        return Action.APPROVE, ResponseCode.APPROVED.value, [_CONFIRMED]
    if merchant_id in ctl.allowed_merchants:
        return Action.APPROVE, ResponseCode.APPROVED.value, [_ALLOWED]
    return None


def judge(
    x: np.ndarray,
    score: float,
    rule_action: Action | None,
    rule_reason: Reason | None,
    ctl: CardControls | None,
    flags: ExposureFlags,
    merchant_id: str,
    mcc: str | None,
    country: str | None,
    entry_mode: str | None,
    policy: Policy,
    model_reasons: Callable[[], list[Reason]],
    channel: str | None = None,
    currency: str | None = None,
) -> tuple[Action, str, list[Reason]]:
    """Combine everything known about one payment into (action, response code, reasons).

    The one place the order of the module docstring is written down; replay calls it for every
    payment where anything fires, so the two paths cannot disagree.
    """
    card_not_present = x[_F_CNP] > 0
    cross_border = x[_F_XB] > 0
    if ctl is not None:
        verdict = control_verdict(
            ctl,
            merchant_id,
            mcc,
            country,
            float(x[_F_AMOUNT]),
            card_not_present,
            cross_border,
            channel,
            currency,
        )
        if verdict is not None:
            return verdict
    if (
        flags.exposed
        and flags.counterfeit_risk
        and cross_border
        and entry_mode in ("magstripe", "fallback")
    ):
        return Action.DECLINE, ResponseCode.SUSPECTED_FRAUD.value, [_EXPOSED_CF]
    if flags.exposed:
        decline_at, challenge_at = policy.exposed_decline_at, policy.exposed_challenge_at
    else:
        decline_at, challenge_at = policy.decline_at, policy.challenge_at
    reasons: list[Reason] = []
    if rule_action is not None and rule_action is not Action.REVIEW:
        action = rule_action
        reasons = [rule_reason] if rule_reason is not None else []
    elif score > decline_at or score > challenge_at:
        action = Action.DECLINE if score > decline_at else Action.CHALLENGE
        reasons = list(model_reasons()) or [
            Reason("model_score", f"Fraud score {score:.2f} is above the {action} cut-off.")
        ]
    elif rule_action is Action.REVIEW:
        action = Action.REVIEW
        reasons = [rule_reason] if rule_reason is not None else []
    else:
        action = Action.APPROVE
    if flags.exposed and card_not_present and ACTION_CODES[action] < ACTION_CODES[Action.CHALLENGE]:
        action = Action.CHALLENGE
        reasons = [*reasons, _EXPOSED_CNP]
    return action, _RESPONSE[action], reasons


def model_columns(scorer: object) -> np.ndarray | None:
    """Positions of the scorer's ``feature_names_in_`` among the profile features (None: all)."""
    names = getattr(scorer, "feature_names_in_", None)
    if names is None or tuple(names) == FEATURE_NAMES:
        return None
    return np.array([FEATURE_INDEX[str(n)] for n in names], dtype=np.int64)


# ---- the engine ------------------------------------------------------------------------------


@dataclass(slots=True)
class Evaluation:
    """One payment's features (profile order), model score and decision."""

    features: np.ndarray
    score: float
    decision: Decision
    values: dict[str, Any] = field(default_factory=dict)


class Engine:
    """The live decision path over one :class:`~cardwatch.profiles.ProfileState`.

    ``decide`` reads (features, score, rules, controls, exposure); ``update`` then folds the
    payment into the profiles, with its outcome. ``cards`` gives home countries.
    """

    def __init__(
        self,
        scorer: Scorer | None = None,
        rules: RuleEvaluator | None = None,
        policy: Policy | None = None,
        controls: Controls | None = None,
        exposure: Exposure | None = None,
        cards: pa.Table | None = None,
        state: ProfileState | None = None,
    ) -> None:
        self.scorer: Scorer = scorer if scorer is not None else ZeroScorer()
        self.rules: RuleEvaluator = rules if rules is not None else NoRules()
        self.policy = policy if policy is not None else Policy()
        self.controls: Controls = controls if controls is not None else NoControls()
        self.exposure: Exposure = exposure if exposure is not None else NoExposure()
        self.state = state if state is not None else ProfileState(cards)
        self._cols = model_columns(self.scorer)
        self._decided: dict[str, Decision] = {}

    def rule_values(
        self,
        txn: Transaction,
        x: np.ndarray,
        score: float,
        ctl: CardControls | None,
        flags: ExposureFlags,
    ) -> dict[str, Any]:
        """What the rules see: every profile feature by name plus the payment's own fields."""
        values: dict[str, Any] = dict(zip(FEATURE_NAMES, x.tolist(), strict=True))
        country = txn.merchant_country
        values.update(
            score=score,
            exposed=1 if flags.exposed else 0,
            exposed_counterfeit_risk=1 if flags.counterfeit_risk else 0,
            travel_notice=1 if ctl is not None and country in ctl.travel_countries else 0,
            home_country=self.state.home_country(txn.card_id),
            merchant_country=country,
            merchant_id=txn.merchant_id,
            mcc=txn.mcc,
            channel=txn.channel,
            entry_mode=txn.entry_mode,
            currency=txn.currency,
        )
        return values

    def evaluate(self, txn: Transaction) -> Evaluation:
        """Features, score, rule values and decision of ``txn``; changes no profile."""
        t_us = to_us(txn.timestamp)
        self.state.advance(t_us)
        x = self.state.features(txn, t_us=t_us)
        xm = x if self._cols is None else x[self._cols]
        score = float(self.scorer.score(xm))
        ctl = self.controls.for_card(txn.card_id, txn.timestamp)
        flags = self.exposure.flags(txn.card_id, txn.timestamp)
        values = self.rule_values(txn, x, score, ctl, flags)
        rule_action, _, rule_reason = self.rules.match(values)
        action, code, reasons = judge(
            x,
            score,
            rule_action,
            rule_reason,
            ctl,
            flags,
            txn.merchant_id,
            txn.mcc,
            txn.merchant_country,
            txn.entry_mode,
            self.policy,
            lambda: self.scorer.reasons(xm, self.policy.reasons_k),
            txn.channel,
            txn.currency,
        )
        decision = Decision(
            txn_id=txn.txn_id,
            action=action,
            response_code=code,
            score=score,
            reasons=reasons,
            decision_id=decision_id(txn.txn_id),
        )
        return Evaluation(features=x, score=score, decision=decision, values=values)

    def decide(self, txn: Transaction) -> Decision:
        """The decision on ``txn`` (call :meth:`update` once it is answered)."""
        decision = self.evaluate(txn).decision
        self._decided[txn.txn_id] = decision
        return decision

    def update(self, txn: Transaction, decision: Decision | None = None) -> None:
        """Fold ``txn`` into the profiles; its decision (given, or the one :meth:`decide` took)
        counts towards the card's recent declines when it was a challenge or a decline."""
        if decision is None:
            decision = self._decided.pop(txn.txn_id, None)
        else:
            self._decided.pop(txn.txn_id, None)
        declined = decision is not None and decision.response_code != ResponseCode.APPROVED
        self.state.update(txn, declined)

    def reverse(self, txn_id: str) -> bool:
        """The acquirer reversed ``txn_id`` (0400/0420): it stops counting in the velocity
        windows (see :meth:`ProfileState.revert` for what stays). False when the payment is
        unknown to the profiles, too old to be in their log, or already reversed."""
        return self.state.revert(txn_id)

    def report_fraud(
        self,
        txn_id: str,
        merchant_id: str,
        reported_at: datetime,
        occurred_at: datetime | None = None,
    ) -> None:
        """A confirmed fraud, visible to the merchant's profile from ``reported_at``."""
        self.state.report_fraud(txn_id, merchant_id, reported_at, occurred_at)

    def warm_up(
        self,
        history: pa.Table,
        as_of: datetime | None = None,
        decided: Mapping[int, tuple[str, str]] | None = None,
    ) -> pa.Table:
        """Rebuild the profiles from ``history`` (sorted, all before the next live payment) by
        replaying it through this engine; returns the replayed decisions. ``decided``: the rows
        answered live before, with their stored ``(action, response_code)``, kept as given (a
        retrained model must not rewrite which payments were declined, nor a stand-in advice
        become the engine's own decision).

        The replayed payments still in the profiles' log can be reversed (:meth:`reverse`) as
        if they had been decided live: a restart followed by a reversal leaves the profiles as
        the reversal alone would have.
        """
        from cardwatch.replay import replay_into

        marks = self.state.log_marks()
        decisions = replay_into(self, history, as_of=as_of, decided=decided).decisions
        declined = (
            pc.not_equal(decisions.column("response_code"), ResponseCode.APPROVED.value)
            .to_numpy(zero_copy_only=False)
            .astype(bool)
        )
        self.state.map_replayed(history, declined, marks)
        return decisions
