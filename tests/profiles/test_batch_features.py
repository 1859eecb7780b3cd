"""The streaming profile features equal a batch computation in DuckDB over the same rows.

The batch side is written from the definitions (``features.DESCRIPTIONS``), not from the kernel:
"earlier" is an earlier row of the time-sorted history, a window of length w at time t holds the
earlier rows with timestamp > t - w, and a label counts from max(reported_at, its time + 1 µs).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings

from cardwatch.profiles import FEATURE_INDEX, FEATURE_NAMES, ProfileState
from tests.profiles.histories import cards_table, histories

_H = 3_600_000_000
_CP_CHANNELS = {"card_present", "atm"}
_CP_ENTRIES = {"chip", "contactless", "magstripe", "fallback"}
_CNP_CHANNELS = {"ecommerce", "moto"}
_CNP_ENTRIES = {"ecommerce", "credential_on_file", "manual"}

_SQL = f"""
WITH a AS (SELECT * FROM df), lab AS (SELECT merchant, greatest(rep, ts + 1) AS t, amount
                                       FROM df WHERE is_fraud = 1)
SELECT a.idx,
  count(b.idx) FILTER (WHERE b.ts > a.ts - {_H}) AS card_txn_count_1h,
  count(b.idx) FILTER (WHERE b.ts > a.ts - {24 * _H}) AS card_txn_count_24h,
  count(b.idx) FILTER (WHERE b.ts > a.ts - {7 * 24 * _H}) AS card_txn_count_7d,
  count(b.idx) FILTER (WHERE b.ts > a.ts - {30 * 24 * _H}) AS card_txn_count_30d,
  coalesce(sum(b.amount) FILTER (WHERE b.ts > a.ts - {_H}), 0) AS card_amount_sum_1h,
  coalesce(sum(b.amount) FILTER (WHERE b.ts > a.ts - {24 * _H}), 0) AS card_amount_sum_24h,
  coalesce(sum(b.amount) FILTER (WHERE b.ts > a.ts - {7 * 24 * _H}), 0) AS card_amount_sum_7d,
  coalesce(sum(b.amount) FILTER (WHERE b.ts > a.ts - {30 * 24 * _H}), 0) AS card_amount_sum_30d,
  count(b.idx) AS card_txn_count_total,
  avg(ln(b.amount)) AS log_mean, stddev_samp(ln(b.amount)) AS log_std,
  avg(b.amount) AS a_mean, stddev_samp(b.amount) AS a_std,
  max(b.ts) AS last_ts,
  count(b.idx) FILTER (WHERE b.merchant = a.merchant) = 0 AS ft_merchant,
  count(b.idx) FILTER (WHERE b.mcc = a.mcc) = 0 AS ft_mcc,
  count(b.idx) FILTER (WHERE b.country = a.country) = 0 AS ft_country,
  count(b.idx) FILTER (WHERE (b.hour - a.hour + 24) % 24 IN (0, 1, 23)) AS near,
  coalesce(bool_or(b.entry IN ('chip', 'contactless')), false) AS used_chip,
  max(b.ts) FILTER (WHERE b.cp AND NOT isnan(b.lat)) AS cp_ts,
  arg_max(b.lat, b.idx) FILTER (WHERE b.cp AND NOT isnan(b.lat)) AS cp_lat,
  arg_max(b.lon, b.idx) FILTER (WHERE b.cp AND NOT isnan(b.lat)) AS cp_lon,
  (SELECT count(*) FROM df m WHERE m.merchant = a.merchant AND m.idx < a.idx
     AND m.ts > a.ts - {24 * _H}) AS merchant_txn_count_24h,
  (SELECT count(*) FROM df m WHERE m.merchant = a.merchant AND m.idx < a.idx
     AND m.ts > a.ts - {7 * 24 * _H}) AS merchant_txn_count_7d,
  (SELECT count(*) FROM df m WHERE m.merchant = a.merchant AND m.idx < a.idx
     AND m.ts > a.ts - {30 * 24 * _H}) AS merchant_txn_count_30d,
  (SELECT count(*) FROM df m WHERE m.merchant = a.merchant AND m.idx < a.idx
     AND m.ts > a.ts - {8 * 24 * _H} AND m.ts <= a.ts - {7 * 24 * _H})
     AS merchant_settled_txn_count_24h,
  (SELECT count(*) FROM df m WHERE m.merchant = a.merchant AND m.idx < a.idx
     AND m.ts > a.ts - {14 * 24 * _H} AND m.ts <= a.ts - {7 * 24 * _H})
     AS merchant_settled_txn_count_7d,
  (SELECT count(*) FROM df m WHERE m.merchant = a.merchant AND m.idx < a.idx
     AND m.ts > a.ts - {37 * 24 * _H} AND m.ts <= a.ts - {7 * 24 * _H})
     AS merchant_settled_txn_count_30d,
  (SELECT count(*) FROM df m WHERE m.merchant = a.merchant AND m.idx < a.idx) AS m_total,
  (SELECT count(DISTINCT m.card) FROM df m WHERE m.merchant = a.merchant AND m.idx < a.idx)
     AS merchant_distinct_cards,
  (SELECT count(*) FROM lab WHERE lab.merchant = a.merchant AND lab.t <= a.ts)
     AS merchant_fraud_reported,
  (SELECT count(*) FROM lab WHERE lab.merchant = a.merchant AND lab.t <= a.ts
     AND lab.t > a.ts - {24 * _H}) AS merchant_fraud_reported_24h,
  (SELECT count(*) FROM lab WHERE lab.merchant = a.merchant AND lab.t <= a.ts
     AND lab.t > a.ts - {7 * 24 * _H}) AS merchant_fraud_reported_7d,
  (SELECT coalesce(avg(lab.amount), 0) FROM lab WHERE lab.merchant = a.merchant
     AND lab.t <= a.ts AND lab.t > a.ts - {24 * _H}) AS merchant_fraud_amount_mean_24h,
  (SELECT coalesce(avg(lab.amount), 0) FROM lab WHERE lab.merchant = a.merchant
     AND lab.t <= a.ts AND lab.t > a.ts - {7 * 24 * _H}) AS merchant_fraud_amount_mean_7d,
  (SELECT coalesce(avg(lab.amount), 0) FROM lab WHERE lab.merchant = a.merchant
     AND lab.t <= a.ts AND lab.t > a.ts - {30 * 24 * _H}) AS merchant_fraud_amount_mean_30d,
  (SELECT coalesce((a.ts - max(lab.t)) / {_H}, -1) FROM lab WHERE lab.merchant = a.merchant
     AND lab.t <= a.ts AND lab.t > a.ts - {30 * 24 * _H}) AS merchant_fraud_hours_since_last,
  (SELECT coalesce((a.ts - min(lab.t)) / {_H}, -1) FROM lab WHERE lab.merchant = a.merchant
     AND lab.t <= a.ts AND lab.t > a.ts - {30 * 24 * _H}) AS merchant_fraud_hours_since_first_30d,
  (SELECT count(*) FROM lab WHERE lab.merchant = a.merchant AND lab.t <= a.ts
     AND lab.t > a.ts - {30 * 24 * _H}) AS merchant_fraud_reported_30d
FROM a LEFT JOIN df b ON b.card = a.card AND b.idx < a.idx
GROUP BY ALL ORDER BY a.idx
"""


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def batch_features(history: pa.Table, homes: dict[str, str], default_home: str) -> pd.DataFrame:
    h = history.to_pandas()
    df = pd.DataFrame(
        {
            "idx": np.arange(len(h)),
            "ts": history.column("timestamp").cast(pa.int64()).to_numpy(),
            "card": h.card_id,
            "merchant": h.merchant_id,
            "mcc": h.mcc,
            "country": h.merchant_country,
            "amount": h.amount,
            "lat": h.merchant_lat,
            "lon": h.merchant_lon,
            "entry": h.entry_mode,
            "is_fraud": h.is_fraud.fillna(0).astype(int),
        }
    )
    df["rep"] = history.column("fraud_reported_at").cast(pa.int64()).to_numpy(zero_copy_only=False)
    df["hour"] = (df.ts // _H) % 24
    chan = h.channel
    df["cp"] = [
        (c in _CP_CHANNELS) if isinstance(c, str) else (e in _CP_ENTRIES)
        for c, e in zip(chan, h.entry_mode, strict=True)
    ]
    cnp = [
        (c in _CNP_CHANNELS) if isinstance(c, str) else (e in _CNP_ENTRIES)
        for c, e in zip(chan, h.entry_mode, strict=True)
    ]
    g = duckdb.sql(_SQL).df().set_index("idx").sort_index()
    out = pd.DataFrame(index=g.index)
    for name in FEATURE_NAMES:
        if name in g.columns:
            out[name] = g[name].astype(float)
    out["amount"] = df.amount
    n30 = g.card_txn_count_30d
    out["card_amount_mean_30d"] = np.where(n30 > 0, g.card_amount_sum_30d / n30.clip(lower=1), 0)
    out["amount_ratio_to_mean"] = np.where(
        n30 > 0, df.amount / out.card_amount_mean_30d.replace(0, np.nan), 1.0
    )
    n = g.card_txn_count_total
    std = g.log_std.fillna(0).clip(lower=0.05)
    out["amount_log_zscore"] = np.where(n >= 2, (np.log(df.amount) - g.log_mean) / std, 0.0)
    floor = np.maximum(0.05 * g.a_mean.fillna(0), 0.01)
    out["amount_zscore"] = np.where(
        n >= 2, (df.amount - g.a_mean) / np.maximum(g.a_std.fillna(0), floor), 0.0
    )
    out["amount_ratio_to_mean_ever"] = np.where(n >= 1, df.amount / g.a_mean.fillna(1), 1.0)
    out["hours_since_last_txn"] = np.where(n >= 1, (df.ts - g.last_ts) / _H, -1.0)
    out["first_time_merchant"] = g.ft_merchant.astype(float)
    out["first_time_mcc"] = np.where(df.mcc.isna(), 0.0, g.ft_mcc.astype(float))
    out["first_time_country"] = np.where(df.country.isna(), 0.0, g.ft_country.astype(float))
    km, speed = [], []
    for i in range(len(df)):
        ok = df.cp[i] and not pd.isna(df.lat[i]) and not pd.isna(g.cp_ts[i])
        d = _haversine(g.cp_lat[i], g.cp_lon[i], df.lat[i], df.lon[i]) if ok else 0.0
        km.append(d)
        speed.append(d / max((df.ts[i] - g.cp_ts[i]) / _H, 1 / 60) if ok else 0.0)
    out["km_from_last_cp"] = km
    out["speed_kmh_from_last_cp"] = speed
    out["card_not_present"] = np.array(cnp, dtype=float)
    home = df.card.map(lambda c: homes.get(c, default_home))
    out["cross_border"] = (df.country.notna() & (df.country != home)).astype(float)
    out["magstripe_on_chip"] = (df.entry.isin(["magstripe", "fallback"]) & g.used_chip).astype(
        float
    )
    out["manual_entry"] = (df.entry == "manual").astype(float)
    out["hour_of_day"] = df.hour.astype(float)
    out["hour_share"] = np.where(n > 0, g.near / n.clip(lower=1), 0.0)
    out["hour_unusual"] = ((n >= 10) & (g.near < 0.05 * n)).astype(float)
    out["card_declines_24h"] = 0.0
    out["merchant_fraud_rate"] = np.where(
        g.m_total > 0, g.merchant_fraud_reported / g.m_total.clip(lower=1), 0.0
    )
    for w in ("24h", "7d", "30d"):
        n_w = g[f"merchant_txn_count_{w}"]
        out[f"merchant_fraud_rate_{w}"] = np.where(
            n_w > 0, g[f"merchant_fraud_reported_{w}"] / n_w.clip(lower=1), 0.0
        )
        n_s = g[f"merchant_settled_txn_count_{w}"]
        out[f"merchant_settled_fraud_rate_{w}"] = np.where(
            n_s > 0, g[f"merchant_fraud_reported_{w}"] / n_s.clip(lower=1), 0.0
        )
    run_hours, run_length = _fraud_runs(df)
    out["merchant_fraud_run_hours"] = run_hours
    out["merchant_fraud_run_length"] = run_length
    for days in (7, 30):
        out[f"merchant_fraud_zscore_mean_{days}d"] = _fraud_zscores(
            df, out["amount_zscore"].to_numpy(), days * 24 * _H
        )
    return out[list(FEATURE_NAMES)]


def _fraud_zscores(df: pd.DataFrame, z: np.ndarray, width: int) -> np.ndarray:
    """Mean, over the frauds reported at the row's merchant in the last ``width``, of their
    payments' own ``amount_zscore`` (kept in millionths, as exact sums are)."""
    lab_t = np.maximum(df.rep.fillna(-1).to_numpy(dtype=np.int64), df.ts.to_numpy() + 1)
    fraud = (df.is_fraud == 1).to_numpy()
    units = np.array([round(v * 1_000_000) for v in z], dtype=np.int64)
    out = np.zeros(len(df))
    for i in range(len(df)):
        t = df.ts[i]
        inside = (df.merchant == df.merchant[i]).to_numpy() & fraud
        inside &= (lab_t <= t) & (lab_t > t - width)
        if inside.any():
            out[i] = units[inside].sum() / inside.sum() / 1_000_000
    return out


def _fraud_runs(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The merchant's run of reported fraud, from its definition: each attempt's position at
    its merchant (1, 2, ...); the labels visible by the row, in the order they become visible
    (then amount, then position), extend the run when they report the attempt right after the
    run's latest one and start a new one when they report a later one; the run holds while no
    attempt after its latest one is older than 7 days."""
    week = 7 * 24 * _H
    pos = df.groupby("merchant").cumcount().to_numpy() + 1
    lab_t = np.maximum(df.rep.fillna(-1).to_numpy(dtype=np.int64), df.ts.to_numpy() + 1)
    hours = np.full(len(df), -1.0)
    length = np.zeros(len(df))
    for i in range(len(df)):
        t, m = df.ts[i], df.merchant[i]
        mine = (df.merchant == m).to_numpy() & (df.idx < i).to_numpy()
        settled = int((mine & (df.ts <= t - week).to_numpy()).sum())
        labels = sorted(
            (lab_t[j], round(df.amount[j] * 1_000_000), pos[j])
            for j in np.flatnonzero(mine & (df.is_fraud == 1).to_numpy() & (lab_t <= t))
        )
        last, n, start = 0, 0, 0
        for lt, _, q in labels:
            if q > last:
                n, start = (n + 1, start) if last > 0 and q == last + 1 else (1, lt)
                last = q
        if last > 0 and last >= settled:
            hours[i], length[i] = (t - start) / _H, n
    return hours, length


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(max_rows=80))
def test_streaming_features_equal_batch_duckdb(history: pa.Table) -> None:
    state = ProfileState(cards_table())
    streamed, _ = state.run(history)
    expected = batch_features(history, {"c1": "DE"}, "FR").to_numpy()
    for name, i in FEATURE_INDEX.items():
        np.testing.assert_allclose(
            streamed[:, i], expected[:, i], rtol=1e-9, atol=1e-7, err_msg=name
        )
