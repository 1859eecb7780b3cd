"""Replay history through the engine, in bulk, with exactly the live engine's decisions.

Why it can be in bulk: every profile feature but one is independent of decisions (declined
attempts count in the windows like the others), so the compiled kernel computes them in one pass,
the model scores them in one batch and the rules run over columns. The exception is
``card_declines_24h``, which depends on earlier decisions on the card, which depend on the score.
A fixpoint settles it: decide with the declines count of the previous pass, recount the declines
from those decisions, and re-decide only the rows whose count changed, until none does. It
converges because a decision depends only on earlier ones: after pass *k* the first *k* decisions
of every card are final. In practice declines are rare and it takes two or three cheap passes.

Rows where nothing fires (no control, no exposure, no rule, score under the challenge cut-off) are
approvals by construction; every other row goes through the engine's own scalar
:func:`cardwatch.engine.judge`, so replay and live share the decision code itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.engine import (
    ACTION_CODES,
    ACTIONS_BY_CODE,
    CardControls,
    Controls,
    Engine,
    Exposure,
    ExposureFlags,
    Policy,
    RuleEvaluator,
    Scorer,
    judge,
    model_columns,
)
from cardwatch.profiles import FEATURE_INDEX, FEATURE_NAMES, Encoded, ProfileState, from_us, to_us
from cardwatch.schema import Action, Reason, ResponseCode, Transaction

__all__ = ["ReplayResult", "feature_frame", "replay", "replay_into"]

_F_DECL = FEATURE_INDEX["card_declines_24h"]
_TEXT_COLUMNS = (
    "merchant_id",
    "merchant_country",
    "mcc",
    "channel",
    "entry_mode",
    "currency",
    "card_id",
)
_ACTION_NAMES = np.array([a.value for a in ACTIONS_BY_CODE], dtype=object)
_APPROVED = ResponseCode.APPROVED.value
_MAX_PASSES = 10_000
#: A history without a currency column is read as the live path reads such a payment (the
#: Transaction's default; a null in the column stays None, as it does live): an "it was me"
#: approval is scoped to a currency, and replay must decide as the live engine did.
_DEFAULT_CURRENCY: str = next(f.default for f in fields(Transaction) if f.name == "currency")
#: Rows per scoring task, and the most threads scoring at once.
_SCORE_ROWS = 16_384
_SCORING_THREADS = 8


@dataclass
class ReplayResult:
    """Everything a replay computed, row for row in the history's order."""

    features: np.ndarray
    scores: np.ndarray
    actions: np.ndarray  # ACTION_CODES
    response_codes: np.ndarray  # str objects
    reasons: np.ndarray  # ";"-joined reason codes, str objects
    exposed: np.ndarray
    counterfeit_risk: np.ndarray
    passes: int
    decisions: pa.Table


class _Columns(Mapping[str, np.ndarray]):
    """The rules' view of some rows: features and payment fields by name, built on demand (a
    rule set that never mentions ``mcc`` never pays for turning it into Python strings)."""

    def __init__(
        self,
        history: pa.Table,
        features: np.ndarray,
        homes: np.ndarray,
        rows: np.ndarray | None,
        extras: dict[str, np.ndarray],
    ) -> None:
        self._history = history
        self._features = features
        self._homes = homes
        self._rows = rows
        self._extras = extras
        self._cache: dict[str, np.ndarray] = {}

    def _pick(self, arr: np.ndarray) -> np.ndarray:
        return arr if self._rows is None else arr[self._rows]

    def __getitem__(self, name: str) -> np.ndarray:
        got = self._cache.get(name)
        if got is not None:
            return got
        if name in FEATURE_INDEX:
            got = np.ascontiguousarray(self._pick(self._features[:, FEATURE_INDEX[name]]))
        elif name in self._extras:
            got = self._extras[name]
        elif name == "home_country":
            got = self._pick(self._homes)
        elif name in _TEXT_COLUMNS and name in self._history.column_names:
            col = self._history.column(name)
            if self._rows is not None:
                col = pc.take(col, pa.array(self._rows))
            got = _strings(col)
        else:
            raise KeyError(name)
        self._cache[name] = got
        return got

    def __iter__(self) -> Iterator[str]:
        yield from FEATURE_NAMES
        yield from self._extras
        yield "home_country"
        yield from (c for c in _TEXT_COLUMNS if c in self._history.column_names)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _strings(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A text column as an object array (None for null) that shares one Python string per
    distinct value: a million rows of a few thousand merchants cost a few thousand strings,
    not a million."""
    d = pc.dictionary_encode(col)
    if isinstance(d, pa.ChunkedArray):
        d = d.combine_chunks() if d.num_chunks else pa.array([], pa.string()).dictionary_encode()
    values = np.array([*d.dictionary.to_pylist(), None], dtype=object)
    idx = pc.fill_null(d.indices, -1).to_numpy(zero_copy_only=False)
    return values[idx]


def _score_pipelined(
    state: ProfileState,
    history: pa.Table,
    as_of_us: int | None,
    scorer: Scorer,
    cols: np.ndarray | None,
) -> tuple[np.ndarray, Encoded, np.ndarray]:
    """Features of every row by the profile kernel, and their scores, each chunk of rows scored
    on the other cores while the kernel computes the next (the kernel and the compiled scorer
    both release the GIL). Scores come from the same ``score_batch``, only sooner."""
    scores = np.zeros(history.num_rows, np.float64)
    threads = max(1, min(_SCORING_THREADS, os.cpu_count() or 1))

    def score(X: np.ndarray, a: int, b: int) -> None:
        scores[a:b] = scorer.score_batch(X[a:b] if cols is None else X[a:b][:, cols])

    with ThreadPoolExecutor(threads) as pool:
        pending: list[Future[None]] = []

        def on_chunk(X: np.ndarray, start: int, end: int) -> None:
            for a in range(start, end, _SCORE_ROWS):
                pending.append(pool.submit(score, X, a, min(end, a + _SCORE_ROWS)))

        X, enc = state.run(history, as_of_us, on_chunk)
        for f in pending:
            f.result()
    return X, enc, scores


def _action_codes(actions: np.ndarray) -> np.ndarray:
    """Rule actions as :data:`ACTION_CODES` whatever the rule set returned (codes, Actions,
    strings or None)."""
    if actions.dtype.kind in "iu":
        return actions.astype(np.int8)
    lookup: dict[object, int] = {None: -1, "": -1, "allow": ACTION_CODES[Action.APPROVE]}
    for a, c in ACTION_CODES.items():
        lookup[a] = c
        lookup[a.value] = c
    return np.array([lookup[a] for a in actions.tolist()], dtype=np.int8)


def _special_rows(
    state: ProfileState,
    enc: Encoded,
    controls: Controls,
    exposure: Exposure,
    history: pa.Table,
) -> tuple[dict[int, CardControls], dict[int, ExposureFlags]]:
    """Ask controls and exposure about the rows of the cards they know, and only those."""
    found_c: dict[int, CardControls] = {}
    found_e: dict[int, ExposureFlags] = {}
    for ids, ask, found in (
        (controls.card_ids(), controls.for_card, found_c),
        (exposure.card_ids(), exposure.flags, found_e),
    ):
        codes = [state.cards.get(c, -1) for c in ids]
        codes = [c for c in codes if c >= 0]
        if not codes:
            continue
        rows = np.flatnonzero(np.isin(enc.card, np.array(codes, dtype=np.int64)))
        card_ids = pc.take(history.column("card_id"), pa.array(rows)).to_pylist()
        for r, card_id in zip(rows.tolist(), card_ids, strict=True):
            got = ask(card_id, from_us(int(enc.ts[r])))
            if got is not None:
                found[r] = got
    return found_c, found_e


def replay_into(
    engine: Engine,
    history: pa.Table,
    as_of: datetime | None = None,
    decided: Mapping[int, tuple[str, str]] | None = None,
) -> ReplayResult:
    """Replay ``history`` (sorted by time) through ``engine``, continuing its profile state and
    leaving it as the live path would: after this, ``engine.decide`` goes on from the last row.

    ``as_of`` hides the labels reported after it (the merchants' fraud rates never see them).
    ``decided`` maps rows already answered (payments decided live before a restart, advices of
    the network's stand-in) to their ``(action, response_code)``: those answers are kept, not
    re-decided, so that the cards' recent declines count what the cardholders were told; their
    scores and reasons are the replay's.
    """
    state, scorer, rules, policy = engine.state, engine.scorer, engine.rules, engine.policy
    cols = model_columns(scorer)
    X, enc, scores = _score_pipelined(
        state, history, None if as_of is None else to_us(as_of), scorer, cols
    )
    n = len(enc)
    ctl_of, flags_of = _special_rows(state, enc, engine.controls, engine.exposure, history)
    special = np.zeros(n, np.bool_)
    special[list(ctl_of)] = True
    special[list(flags_of)] = True
    exposed = np.zeros(n, np.int8)
    cf_risk = np.zeros(n, np.int8)
    travel = np.zeros(n, np.int8)
    for r, f in flags_of.items():
        exposed[r], cf_risk[r] = int(f.exposed), int(f.counterfeit_risk)
    if ctl_of:
        rows = np.array(sorted(ctl_of), dtype=np.int64)
        countries = pc.take(_text(history, "merchant_country"), pa.array(rows)).to_pylist()
        for r, cc in zip(rows.tolist(), countries, strict=True):
            travel[r] = int(cc in ctl_of[r].travel_countries)
    country_names = np.array(list(state.countries.codes), dtype=object)
    homes = country_names[enc.home] if n else np.zeros(0, dtype=object)

    actions = np.zeros(n, np.int8)
    response = np.full(n, _APPROVED, dtype=object)
    reasons = np.full(n, "", dtype=object)

    quiet_below = min(policy.challenge_at, policy.decline_at)
    known = np.array(sorted(decided or ()), dtype=np.int64)
    known_actions = np.array(
        [ACTION_CODES[Action(decided[r][0])] for r in known.tolist()] if decided else [],
        dtype=actions.dtype,
    )
    known_codes = np.array([decided[r][1] for r in known.tolist()] if decided else [], object)

    def score(rows: np.ndarray) -> None:
        Xm = X[rows] if cols is None else X[np.ix_(rows, cols)]
        scores[rows] = scorer.score_batch(np.ascontiguousarray(Xm))

    def decide(rows: np.ndarray | None) -> None:
        sel = slice(None) if rows is None else rows
        extras = {
            "score": scores[sel],
            "exposed": exposed[sel],
            "exposed_counterfeit_risk": cf_risk[sel],
            "travel_notice": travel[sel],
        }
        view = _Columns(history, X, homes, rows, extras)
        m = n if rows is None else rows.shape[0]
        r_act, r_idx = rules.match_columns(view, m)
        r_act = _action_codes(np.asarray(r_act))
        easy = (r_act < 0) & ~special[sel] & (scores[sel] <= quiet_below)
        all_rows = np.arange(n) if rows is None else rows
        done = all_rows[easy]
        actions[done] = ACTION_CODES[Action.APPROVE]
        response[done] = _APPROVED
        reasons[done] = ""
        hard = np.flatnonzero(~easy)
        if hard.size:
            _judge_rows(
                history,
                X,
                scores,
                all_rows[hard],
                r_act[hard],
                np.asarray(r_idx)[hard],
                rules,
                ctl_of,
                flags_of,
                policy,
                scorer,
                cols,
                actions,
                response,
                reasons,
            )
        if known.size:
            actions[known], response[known] = known_actions, known_codes

    decide(None)
    passes = 1
    while True:
        declined = response != _APPROVED
        counts = state.decline_counts(enc.card, enc.ts, declined, commit=False)
        changed = np.flatnonzero(counts != X[:, _F_DECL])
        if changed.size == 0 or passes >= _MAX_PASSES:
            break
        X[changed, _F_DECL] = counts[changed]
        score(changed)
        decide(changed)
        passes += 1
    state.decline_counts(enc.card, enc.ts, response != _APPROVED, commit=True)
    decisions = pa.table(
        {
            "txn_id": history.column("txn_id"),
            "score": pa.array(scores, pa.float64()),
            "action": pa.array(_ACTION_NAMES[actions], pa.string()),
            "response_code": pa.array(response, pa.string()),
            "reasons": pa.array(reasons, pa.string()),
        }
    )
    return ReplayResult(
        features=X,
        scores=scores,
        actions=actions,
        response_codes=response,
        reasons=reasons,
        exposed=exposed,
        counterfeit_risk=cf_risk,
        passes=passes,
        decisions=decisions,
    )


def _text(history: pa.Table, name: str) -> pa.ChunkedArray | pa.Array:
    if name in history.column_names:
        return history.column(name)
    return pa.nulls(history.num_rows, pa.string())


def _judge_rows(
    history: pa.Table,
    X: np.ndarray,
    scores: np.ndarray,
    rows: np.ndarray,
    r_act: np.ndarray,
    r_idx: np.ndarray,
    rules: RuleEvaluator,
    ctl_of: dict[int, CardControls],
    flags_of: dict[int, ExposureFlags],
    policy: Policy,
    scorer: Scorer,
    cols: np.ndarray | None,
    actions: np.ndarray,
    response: np.ndarray,
    reasons: np.ndarray,
) -> None:
    """The engine's scalar decision for the rows where something fires."""
    take = pa.array(rows)
    text = {
        c: pc.take(_text(history, c), take).to_pylist()
        for c in ("merchant_id", "mcc", "merchant_country", "entry_mode", "channel", "currency")
    }
    no_flags = ExposureFlags()
    no_currency = None if "currency" in history.column_names else _DEFAULT_CURRENCY
    for j, r in enumerate(rows.tolist()):
        x = X[r]
        xm = x if cols is None else x[cols]
        code = int(r_act[j])
        rule_action = None if code < 0 else ACTIONS_BY_CODE[code]
        rule_reason: Reason | None = None if code < 0 else rules.reason_at(int(r_idx[j]))
        action, resp, why = judge(
            x,
            float(scores[r]),
            rule_action,
            rule_reason,
            ctl_of.get(r),
            flags_of.get(r, no_flags),
            text["merchant_id"][j],
            text["mcc"][j],
            text["merchant_country"][j],
            text["entry_mode"][j],
            policy,
            lambda xm=xm: scorer.reasons(xm, policy.reasons_k),  # type: ignore[misc]
            text["channel"][j],
            text["currency"][j] if text["currency"][j] is not None else no_currency,
        )
        actions[r] = ACTION_CODES[action]
        response[r] = resp
        reasons[r] = ";".join(w.code for w in why)


def replay(
    history: pa.Table,
    cards: pa.Table | None = None,
    scorer: Scorer | None = None,
    rules: RuleEvaluator | None = None,
    policy: Policy | None = None,
    controls: Controls | None = None,
    exposure: Exposure | None = None,
    as_of: datetime | None = None,
) -> pa.Table:
    """``cardwatch replay``: one row per transaction, ``txn_id, score, action, response_code,
    reasons`` (reason codes ``;``-separated), exactly the live engine's decisions."""
    engine = Engine(scorer, rules, policy, controls, exposure, cards=cards)
    return replay_into(engine, history, as_of=as_of).decisions


def feature_frame(
    history: pa.Table,
    cards: pa.Table | None = None,
    scorer: Scorer | None = None,
    rules: RuleEvaluator | None = None,
    policy: Policy | None = None,
    controls: Controls | None = None,
    exposure: Exposure | None = None,
    as_of: datetime | None = None,
) -> pa.Table:
    """Training and backtest rows: ``txn_id, card_id, timestamp, amount, is_fraud`` (the label
    as known at ``as_of``; every label when None), every feature of
    :data:`~cardwatch.profiles.FEATURE_NAMES` (``amount`` is the amount column), ``exposed``,
    ``exposed_counterfeit_risk``, and ``score``, ``action``, ``response_code`` when a scorer is
    given. The declines feature counts the decisions of the engine given (none without one)."""
    engine = Engine(scorer, rules, policy, controls, exposure, cards=cards)
    result = replay_into(engine, history, as_of=as_of)
    label = pc.fill_null(_column_or_zero(history, "is_fraud"), 0).cast(pa.int8())
    if as_of is not None and "fraud_reported_at" in history.column_names:
        ts = history.column("timestamp").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        rep = history.column("fraud_reported_at").cast(pa.timestamp("us", tz="UTC"))
        rep_us = pc.fill_null(rep.cast(pa.int64()), pc.add(ts, engine.state.label_delay_us))
        known = pc.less_equal(rep_us, to_us(as_of))
        label = pc.if_else(known, label, pa.scalar(0, pa.int8()))
    data: dict[str, pa.Array | pa.ChunkedArray] = {
        "txn_id": history.column("txn_id"),
        "card_id": history.column("card_id"),
        "timestamp": history.column("timestamp"),
        "amount": history.column("amount"),
        "is_fraud": label,
    }
    for i, name in enumerate(FEATURE_NAMES):
        if name != "amount":
            data[name] = pa.array(result.features[:, i])
    data["exposed"] = pa.array(result.exposed)
    data["exposed_counterfeit_risk"] = pa.array(result.counterfeit_risk)
    if scorer is not None:
        data["score"] = pa.array(result.scores)
        data["action"] = result.decisions.column("action")
        data["response_code"] = result.decisions.column("response_code")
    return pa.table(data)


def _column_or_zero(history: pa.Table, name: str) -> pa.ChunkedArray | pa.Array:
    if name in history.column_names:
        return history.column(name)
    return pa.array(np.zeros(history.num_rows, np.int8))
