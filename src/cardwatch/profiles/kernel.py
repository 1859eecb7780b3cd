"""The compiled profile kernel: read the features of one event, then fold the event into the state.

Why exact windows rather than exponentially decayed ones: rules are written by people who read
``card_txn_count_1h > 5`` as "more than five attempts in the last hour", and a backtest must mean
what it says; a decayed count of 5.3 does not. Exactness costs little here: each card and each
merchant keeps its events as a chain through one global event log (``next`` pointers) and a
*tail* pointer per window to its oldest event still inside it. Reading a window walks from the
tail over the events that have expired since the last update (amortised O(1), and read-only);
updating moves the tails for real. Batch and live run these same functions, so a replay is the
live path in a loop, not a re-implementation.

State, all NumPy arrays so that the whole of it is a handful of arguments (numba's dispatch cost
grows with the number of arguments) and can be saved, copied or shipped as plain buffers:

- ``card_i`` int64 [cards, N_CI], ``card_f`` float64 [cards, N_CF]: per card (columns ``CI_*``,
  ``CF_*``); ``merch_i`` int64 [merchants, N_MI]; ``card_dec`` int64 [cards, 3]: the chain of the
  card's declines (challenges and declines by cardwatch).
- ``ev_i`` int64 [events, 6] (time, next event of the card, next event of the merchant,
  reverted flag, the event's position among its merchant's attempts: 1, 2, …, the amount's
  z-score against the card's earlier amounts in millionths) and ``ev_amt``;
  ``dec_i`` int64 [declines, 3] (time, next decline of the card, reverted flag); ``lab_i``
  int64 [labels, 4] (time a fraud label became visible, next label of the merchant, the
  payment's amount in millionths or -1, its z-score in millionths or :data:`Z_UNKNOWN`), which
  the merchants' 24-hour, 7- and 30-day fraud windows walk like the events'; the merchant's
  run of reported fraud (``MI_RUN_*``) is kept from the labels' payments' positions.
- ``hkeys``: an open-addressing hash set (linear probing, -1 empty, power-of-two size) of the
  (card, merchant), (card, MCC) and (card, country) pairs seen, for "first time" features.
- ``meta``: counters (events, declines, keys in the hash set, labels).

Window membership: an earlier event at ``s`` is inside a window of length ``w`` at time ``t``
when ``s > t - w``. Times are int64 microseconds since the Unix epoch, UTC.

Reversals (:func:`revert_event`, :func:`revert_decline`): a reverted entry stays in its chains,
so that no predecessor has to be found (a large merchant's chain is long), but it is taken out
of every count and sum that holds it at once and flagged; every walk that expires entries steps
over a flagged one without subtracting it again.

The logs stay bounded: :func:`compact_events` (and :func:`compact_declines`) move every tail past
what has expired by a time ``t`` — the very steps the next update would take, in the same order,
so every count and every floating-point sum comes out bit for bit as without it — and then drop
the log entries no pointer reaches any more, i.e. everything older than the longest window.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cardwatch.profiles.features import CHANNEL_CODES, ENTRY_CODES, FEATURE_INDEX, WINDOWS_US

__all__ = [
    "N_CF",
    "N_CI",
    "N_MI",
    "apply_labels",
    "compact_declines",
    "compact_events",
    "compact_labels",
    "decline_counts",
    "decline_push",
    "features_into",
    "label_push",
    "positions_into",
    "rehash",
    "revert_decline",
    "revert_event",
    "run_batch",
    "update_one",
]

# card_i columns
CI_TOTAL = 0
CI_LAST_EV = 1
CI_LAST_TS = 2
CI_TAIL = 3  # 4 columns, one per window
CI_CNT = 7  # 4 columns
CI_LAST_CP_TS = 11
CI_USED_CHIP = 12
CI_HOUR = 13  # 24 columns
N_CI = 37
# card_f columns
CF_SUM = 0  # 4 columns
CF_LOG_MEAN = 4
CF_LOG_M2 = 5
CF_CP_LAT = 6
CF_CP_LON = 7
CF_MEAN = 8  # Welford on the amount itself: mean, M2
CF_M2 = 9
N_CF = 10
# merch_i columns
MI_LAST_EV = 0
MI_TAIL = 1  # 6 columns: the windows of _MERCH_W (24 h, 7 d, 30 d, 8 d, 14 d, 37 d)
MI_CNT = 7  # 6 columns
MI_TOTAL = 13
MI_CARDS = 14
MI_FRAUD = 15
MI_LAST_LAB = 16  # the merchant's latest fraud label in the labels log
MI_LTAIL = 17  # 3 columns: labels' 24 h, 7 d, 30 d
MI_LCNT = 20  # 3 columns
MI_LASUM = 23  # 3 columns: the amounts of those labels (when known), in millionths
MI_LACNT = 26  # 3 columns: how many of them have a known amount
# The merchant's run of reported fraud: its latest reported payments, at consecutive positions
# among its attempts (ev_i column 4). Position of the latest reported one, how many, the time
# the run's first report became visible.
MI_RUN_LAST = 29
MI_RUN_LEN = 30
MI_RUN_START = 31
MI_LZSUM = 32  # 3 columns: the z-scores of the labels in the 24 h, 7 d, 30 d windows (millionths)
MI_LZCNT = 35  # 3 columns: how many of them have a known z-score
N_MI = 38
# card_dec columns
DC_LAST = 0
DC_TAIL = 1
DC_CNT = 2
# meta
M_EVENTS = 0
M_DECL = 1
M_KEYS = 2
M_LABELS = 3

#: Columns of a fresh row that hold pointers or times, so start at -1 instead of 0.
CI_MINUS_ONE = (
    CI_LAST_EV,
    CI_LAST_TS,
    CI_TAIL,
    CI_TAIL + 1,
    CI_TAIL + 2,
    CI_TAIL + 3,
    CI_LAST_CP_TS,
)
MI_MINUS_ONE = (
    MI_LAST_EV,
    MI_TAIL,
    MI_TAIL + 1,
    MI_TAIL + 2,
    MI_TAIL + 3,
    MI_TAIL + 4,
    MI_TAIL + 5,
    MI_LAST_LAB,
    MI_LTAIL,
    MI_LTAIL + 1,
    MI_LTAIL + 2,
)
DC_MINUS_ONE = (DC_LAST, DC_TAIL)

_W = np.array(WINDOWS_US, dtype=np.int64)
_DAY = WINDOWS_US[1]
#: Column of ``ev_i`` holding the event's position among its merchant's attempts (1-based).
EV_POS = 4
#: Column of ``ev_i`` holding the amount's z-score against the card's earlier amounts (the
#: ``amount_zscore`` feature of the payment), in millionths.
EV_Z = 5
#: A label's z-score when its payment is no longer in the state.
Z_UNKNOWN = -(1 << 62)
#: A label's z-score still to be read from its payment's event when the label comes due.
Z_LOOKUP = Z_UNKNOWN + 1
#: Label amounts are kept as integer millionths (exact sums in and out of the windows); -1 is
#: "unknown" (a live report of a payment no longer in the state).
AMOUNT_UNIT = 1_000_000

#: The merchants' windows: 24 h, 7 d, 30 d (attempts), then 7 d + each of them, whose difference
#: with the 7-day window is the attempts of the same length ending 7 days ago — old enough that
#: their fraud reports are in (the default label delay), the Handbook's "terminal risk" windows.
_MERCH_W = np.array([_W[1], _W[2], _W[3], _W[2] + _W[1], 2 * _W[2], _W[2] + _W[3]], dtype=np.int64)
_N_MW = 6
_MW_LONGEST = 5  # 37 days: compaction keeps what it holds
_MW_7D = 1
_LAB_WINDOWS = np.array([1, 2, 3], dtype=np.int64)  # the fraud labels' windows: 24 h, 7 d, 30 d
_N_LAB_W = 3
_LAB_LONGEST = _N_LAB_W - 1  # the 30-day window: the longest, which compaction keeps

_CH_CP = CHANNEL_CODES["card_present"]
_CH_ATM = CHANNEL_CODES["atm"]
_CH_ECOM = CHANNEL_CODES["ecommerce"]
_CH_MOTO = CHANNEL_CODES["moto"]
_EM_CHIP = ENTRY_CODES["chip"]
_EM_CTLS = ENTRY_CODES["contactless"]
_EM_MAG = ENTRY_CODES["magstripe"]
_EM_FALLBACK = ENTRY_CODES["fallback"]
_EM_MANUAL = ENTRY_CODES["manual"]
_EM_ECOM = ENTRY_CODES["ecommerce"]
_EM_COF = ENTRY_CODES["credential_on_file"]

_K_MERCHANT = 1
_K_MCC = 2
_K_COUNTRY = 3

F_AMOUNT = FEATURE_INDEX["amount"]
F_CNT = FEATURE_INDEX["card_txn_count_1h"]
F_SUM = FEATURE_INDEX["card_amount_sum_1h"]
F_MEAN30 = FEATURE_INDEX["card_amount_mean_30d"]
F_RATIO = FEATURE_INDEX["amount_ratio_to_mean"]
F_TOTAL = FEATURE_INDEX["card_txn_count_total"]
F_Z = FEATURE_INDEX["amount_log_zscore"]
F_ZLIN = FEATURE_INDEX["amount_zscore"]
F_RATIO_EVER = FEATURE_INDEX["amount_ratio_to_mean_ever"]
F_SINCE = FEATURE_INDEX["hours_since_last_txn"]
F_FT_MERCH = FEATURE_INDEX["first_time_merchant"]
F_FT_MCC = FEATURE_INDEX["first_time_mcc"]
F_FT_COUNTRY = FEATURE_INDEX["first_time_country"]
F_KM = FEATURE_INDEX["km_from_last_cp"]
F_SPEED = FEATURE_INDEX["speed_kmh_from_last_cp"]
F_CNP = FEATURE_INDEX["card_not_present"]
F_XB = FEATURE_INDEX["cross_border"]
F_MAG = FEATURE_INDEX["magstripe_on_chip"]
F_MANUAL = FEATURE_INDEX["manual_entry"]
F_HOUR = FEATURE_INDEX["hour_of_day"]
F_HSHARE = FEATURE_INDEX["hour_share"]
F_HUNUSUAL = FEATURE_INDEX["hour_unusual"]
F_DECL = FEATURE_INDEX["card_declines_24h"]
F_M24 = FEATURE_INDEX["merchant_txn_count_24h"]
F_M7 = FEATURE_INDEX["merchant_txn_count_7d"]
F_M30 = FEATURE_INDEX["merchant_txn_count_30d"]
F_MCARDS = FEATURE_INDEX["merchant_distinct_cards"]
F_MFRAUD = FEATURE_INDEX["merchant_fraud_reported"]
F_MRATE = FEATURE_INDEX["merchant_fraud_rate"]
F_MFRAUD_W = FEATURE_INDEX["merchant_fraud_reported_24h"]
F_MRATE_W = FEATURE_INDEX["merchant_fraud_rate_24h"]
F_MF_LAST = FEATURE_INDEX["merchant_fraud_hours_since_last"]
F_MF_AMT = FEATURE_INDEX["merchant_fraud_amount_mean_24h"]
F_MSETTLED = FEATURE_INDEX["merchant_settled_txn_count_24h"]
F_MSHARE = FEATURE_INDEX["merchant_settled_fraud_rate_24h"]
F_MF_FIRST = FEATURE_INDEX["merchant_fraud_hours_since_first_30d"]
F_RUN_HOURS = FEATURE_INDEX["merchant_fraud_run_hours"]
F_RUN_LEN = FEATURE_INDEX["merchant_fraud_run_length"]
F_MF_Z = FEATURE_INDEX["merchant_fraud_zscore_mean_7d"]
assert FEATURE_INDEX["merchant_fraud_zscore_mean_30d"] == F_MF_Z + 1
assert FEATURE_INDEX["card_txn_count_30d"] == F_CNT + 3
assert FEATURE_INDEX["card_amount_sum_30d"] == F_SUM + 3
assert F_M24 + 1 == F_M7 and F_M7 + 1 == F_M30
assert FEATURE_INDEX["merchant_fraud_reported_30d"] == F_MFRAUD_W + 2
assert FEATURE_INDEX["merchant_fraud_rate_30d"] == F_MRATE_W + 2
assert FEATURE_INDEX["merchant_settled_txn_count_30d"] == F_MSETTLED + 2
assert FEATURE_INDEX["merchant_settled_fraud_rate_30d"] == F_MSHARE + 2
assert FEATURE_INDEX["merchant_fraud_amount_mean_30d"] == F_MF_AMT + 2

_HOUR_US = WINDOWS_US[0]
_MIN_HOURS = 1.0 / 60.0  # speed floor: two uses a second apart are not "infinitely fast"
_MIN_LOG_STD = 0.05
_MIN_STD_SHARE = 0.05  # a card paying the same amount every time: std floored at 5% of its mean
_MIN_STD = 0.01
_EARTH_KM = 6371.0088


@njit(cache=True, nogil=True, inline="always")
def _slot(hkeys, key):  # type: ignore[no-untyped-def]
    """Where ``key`` is in the hash set, or the empty slot where it would go."""
    mask = hkeys.shape[0] - 1
    x = key * -7046029254386353131  # 0x9E3779B97F4A7C15 as int64: Fibonacci hashing
    i = (x ^ (x >> 29)) & mask
    while True:
        k = hkeys[i]
        if k == key or k == -1:
            return i
        i = (i + 1) & mask


@njit(cache=True, nogil=True, inline="always")
def _pair(kind, card, value):  # type: ignore[no-untyped-def]
    return (kind << 60) | (card << 30) | value


@njit(cache=True, nogil=True, inline="always")
def _seen(hkeys, kind, card, value):  # type: ignore[no-untyped-def]
    if card < 0 or value < 0:
        return False
    key = _pair(kind, card, value)
    return hkeys[_slot(hkeys, key)] == key


@njit(cache=True, nogil=True, inline="always")
def _insert(hkeys, meta, kind, card, value):  # type: ignore[no-untyped-def]
    """Add a pair; True when it was new."""
    key = _pair(kind, card, value)
    i = _slot(hkeys, key)
    if hkeys[i] == key:
        return False
    hkeys[i] = key
    meta[M_KEYS] += 1
    return True


@njit(cache=True, nogil=True)
def rehash(old, new):  # type: ignore[no-untyped-def]
    """Copy every key of ``old`` into the empty, larger table ``new``."""
    for k in old:
        if k != -1:
            new[_slot(new, k)] = k


@njit(cache=True, nogil=True, inline="always")
def _is_card_present(chan, entry):  # type: ignore[no-untyped-def]
    if chan >= 0:
        return chan in (_CH_CP, _CH_ATM)
    return entry in (_EM_CHIP, _EM_CTLS, _EM_MAG, _EM_FALLBACK)


@njit(cache=True, nogil=True, inline="always")
def _is_not_present(chan, entry):  # type: ignore[no-untyped-def]
    if chan >= 0:
        return chan in (_CH_ECOM, _CH_MOTO)
    return entry in (_EM_ECOM, _EM_COF, _EM_MANUAL)


@njit(cache=True, nogil=True, inline="always")
def _haversine_km(lat1, lon1, lat2, lon2):  # type: ignore[no-untyped-def]
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * _EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


@njit(cache=True, nogil=True)
def features_into(  # type: ignore[no-untyped-def]
    card_i,
    card_f,
    merch_i,
    card_dec,
    ev_i,
    ev_amt,
    dec_i,
    lab_i,
    hkeys,
    c,
    m,
    mcc,
    country,
    home,
    lat,
    lon,
    chan,
    entry,
    t,
    amount,
    out,
):
    """Write the features of one event into ``out`` without changing any state.

    ``c``/``m`` are the card and merchant rows (-2 when never seen); ``mcc``/``country`` codes
    are -1 when missing and -2 when never seen; ``home`` is the card's home country code.
    """
    out[:] = 0.0
    out[F_AMOUNT] = amount
    log_a = math.log(amount) if amount > 0 else 0.0
    hour = (t // _HOUR_US) % 24
    out[F_HOUR] = hour
    cnp = _is_not_present(chan, entry)
    cp = _is_card_present(chan, entry)
    out[F_CNP] = 1.0 if cnp else 0.0
    out[F_XB] = 1.0 if (country != -1 and country != home) else 0.0
    out[F_MANUAL] = 1.0 if entry == _EM_MANUAL else 0.0
    out[F_RATIO] = 1.0
    out[F_RATIO_EVER] = 1.0
    out[F_SINCE] = -1.0
    out[F_MF_LAST] = -1.0
    out[F_MF_FIRST] = -1.0
    out[F_RUN_HOURS] = -1.0
    out[F_FT_MERCH] = 1.0
    out[F_FT_MCC] = 1.0 if mcc != -1 else 0.0
    out[F_FT_COUNTRY] = 1.0 if country != -1 else 0.0
    if c >= 0:
        for k in range(4):
            cnt = card_i[c, CI_CNT + k]
            s = card_f[c, CF_SUM + k]
            p = card_i[c, CI_TAIL + k]
            lim = t - _W[k]
            while p >= 0 and ev_i[p, 0] <= lim:
                if ev_i[p, 3] == 0:
                    cnt -= 1
                    s -= ev_amt[p]
                p = ev_i[p, 1]
            if cnt == 0:
                s = 0.0
            out[F_CNT + k] = cnt
            out[F_SUM + k] = s
        if out[F_CNT + 3] > 0:
            out[F_MEAN30] = out[F_SUM + 3] / out[F_CNT + 3]
            out[F_RATIO] = amount / out[F_MEAN30]
        n = card_i[c, CI_TOTAL]
        out[F_TOTAL] = n
        if n >= 2:
            std = math.sqrt(card_f[c, CF_LOG_M2] / (n - 1))
            out[F_Z] = (log_a - card_f[c, CF_LOG_MEAN]) / max(std, _MIN_LOG_STD)
            # the same in amounts: a fraudster's 5x stands out against the card's whole past,
            # which a few weeks of compromise cannot drag along as they do a 30-day mean
            mean = card_f[c, CF_MEAN]
            std = math.sqrt(max(card_f[c, CF_M2], 0.0) / (n - 1))
            out[F_ZLIN] = (amount - mean) / max(std, _MIN_STD_SHARE * mean, _MIN_STD)
        if n >= 1 and card_f[c, CF_MEAN] > 0:
            out[F_RATIO_EVER] = amount / card_f[c, CF_MEAN]
        if n >= 1:
            out[F_SINCE] = (t - card_i[c, CI_LAST_TS]) / _HOUR_US
            near = 0
            for dh in range(-1, 2):
                near += card_i[c, CI_HOUR + (hour + dh) % 24]
            out[F_HSHARE] = near / n
            out[F_HUNUSUAL] = 1.0 if (n >= 10 and near < 0.05 * n) else 0.0
        if m >= 0 and _seen(hkeys, _K_MERCHANT, c, m):
            out[F_FT_MERCH] = 0.0
        if mcc >= 0 and _seen(hkeys, _K_MCC, c, mcc):
            out[F_FT_MCC] = 0.0
        if country >= 0 and _seen(hkeys, _K_COUNTRY, c, country):
            out[F_FT_COUNTRY] = 0.0
        last_cp = card_i[c, CI_LAST_CP_TS]
        if cp and last_cp >= 0 and not (math.isnan(lat) or math.isnan(lon)):
            km = _haversine_km(card_f[c, CF_CP_LAT], card_f[c, CF_CP_LON], lat, lon)
            out[F_KM] = km
            out[F_SPEED] = km / max((t - last_cp) / _HOUR_US, _MIN_HOURS)
        if (entry in (_EM_MAG, _EM_FALLBACK)) and card_i[c, CI_USED_CHIP] != 0:
            out[F_MAG] = 1.0
        dcnt = card_dec[c, DC_CNT]
        p = card_dec[c, DC_TAIL]
        while p >= 0 and dec_i[p, 0] <= t - _DAY:
            if dec_i[p, 2] == 0:
                dcnt -= 1
            p = dec_i[p, 1]
        out[F_DECL] = dcnt
    if m >= 0:
        for j in range(_N_MW):
            cnt = merch_i[m, MI_CNT + j]
            p = merch_i[m, MI_TAIL + j]
            lim = t - _MERCH_W[j]
            while p >= 0 and ev_i[p, 0] <= lim:
                if ev_i[p, 3] == 0:
                    cnt -= 1
                p = ev_i[p, 2]
            if j == _MW_7D and merch_i[m, MI_RUN_LAST] > 0:
                # attempts settled (older than the 7-day label delay): those before the oldest
                # one still inside the window; the run holds while none of them came after it
                settled = ev_i[p, EV_POS] - 1 if p >= 0 else merch_i[m, MI_TOTAL]
                if merch_i[m, MI_RUN_LAST] >= settled:
                    out[F_RUN_HOURS] = (t - merch_i[m, MI_RUN_START]) / _HOUR_US
                    out[F_RUN_LEN] = merch_i[m, MI_RUN_LEN]
            if j < 3:
                out[F_M24 + j] = cnt
            else:  # the 7 + w window less the last 7 days: the w days ending 7 days ago
                out[F_MSETTLED + j - 3] = cnt - out[F_M24 + _MW_7D]
        total = merch_i[m, MI_TOTAL]
        out[F_MCARDS] = merch_i[m, MI_CARDS]
        out[F_MFRAUD] = merch_i[m, MI_FRAUD]
        if total > 0:
            out[F_MRATE] = merch_i[m, MI_FRAUD] / total
        for j in range(_N_LAB_W):
            cnt = merch_i[m, MI_LCNT + j]
            a_sum = merch_i[m, MI_LASUM + j]
            a_cnt = merch_i[m, MI_LACNT + j]
            z_sum = merch_i[m, MI_LZSUM + j]
            z_cnt = merch_i[m, MI_LZCNT + j]
            p = merch_i[m, MI_LTAIL + j]
            lim = t - _W[_LAB_WINDOWS[j]]
            while p >= 0 and lab_i[p, 0] <= lim:
                cnt -= 1
                if lab_i[p, 2] >= 0:
                    a_sum -= lab_i[p, 2]
                    a_cnt -= 1
                if lab_i[p, 3] != Z_UNKNOWN:
                    z_sum -= lab_i[p, 3]
                    z_cnt -= 1
                p = lab_i[p, 1]
            out[F_MFRAUD_W + j] = cnt
            if j > 0 and z_cnt > 0:  # a terminal's frauds are the card's usual; a thief's are not
                out[F_MF_Z + j - 1] = z_sum / z_cnt / AMOUNT_UNIT
            if a_cnt > 0:  # a merchant's own frauds are everyday amounts; a stolen card's are not
                out[F_MF_AMT + j] = a_sum / a_cnt / AMOUNT_UNIT
            n_w = out[F_M24 + j]  # the merchant's attempts in the same window
            if n_w > 0:
                out[F_MRATE_W + j] = cnt / n_w
            n_s = out[F_MSETTLED + j]  # its attempts of the same length ending 7 days ago
            if n_s > 0:
                out[F_MSHARE + j] = cnt / n_s
            if j == _LAB_LONGEST and cnt > 0:
                # the oldest report still inside 30 days, and the latest one: how long the
                # merchant's run of reported fraud has lasted, and how fresh it is
                out[F_MF_FIRST] = (t - lab_i[p, 0]) / _HOUR_US
                out[F_MF_LAST] = (t - lab_i[merch_i[m, MI_LAST_LAB], 0]) / _HOUR_US


@njit(cache=True, nogil=True)
def update_one(  # type: ignore[no-untyped-def]
    card_i,
    card_f,
    merch_i,
    ev_i,
    ev_amt,
    hkeys,
    meta,
    c,
    m,
    mcc,
    country,
    lat,
    lon,
    chan,
    entry,
    t,
    amount,
):
    """Fold one event into the state. ``c`` and ``m`` must be assigned rows (>= 0); the caller
    guarantees room in the event log and the hash set."""
    e = meta[M_EVENTS]
    meta[M_EVENTS] = e + 1
    ev_i[e, 0] = t
    ev_i[e, 1] = -1
    ev_i[e, 2] = -1
    ev_i[e, 3] = 0
    ev_i[e, EV_POS] = merch_i[m, MI_TOTAL] + 1
    n = card_i[c, CI_TOTAL]
    z = 0.0
    if n >= 2:  # as features_into's amount_zscore, from the card's state before this payment
        mean = card_f[c, CF_MEAN]
        std = math.sqrt(max(card_f[c, CF_M2], 0.0) / (n - 1))
        z = (amount - mean) / max(std, _MIN_STD_SHARE * mean, _MIN_STD)
    ev_i[e, EV_Z] = round(z * AMOUNT_UNIT)
    ev_amt[e] = amount
    # card windows: drop what expired, then append
    for k in range(4):
        p = card_i[c, CI_TAIL + k]
        lim = t - _W[k]
        while p >= 0 and ev_i[p, 0] <= lim:
            if ev_i[p, 3] == 0:
                card_i[c, CI_CNT + k] -= 1
                card_f[c, CF_SUM + k] -= ev_amt[p]
            p = ev_i[p, 1]
        if card_i[c, CI_CNT + k] == 0:
            card_f[c, CF_SUM + k] = 0.0
        if p < 0:
            p = e
        card_i[c, CI_TAIL + k] = p
        card_i[c, CI_CNT + k] += 1
        card_f[c, CF_SUM + k] += amount
    last = card_i[c, CI_LAST_EV]
    if last >= 0:
        ev_i[last, 1] = e
    card_i[c, CI_LAST_EV] = e
    # merchant windows
    for j in range(_N_MW):
        p = merch_i[m, MI_TAIL + j]
        lim = t - _MERCH_W[j]
        while p >= 0 and ev_i[p, 0] <= lim:
            if ev_i[p, 3] == 0:
                merch_i[m, MI_CNT + j] -= 1
            p = ev_i[p, 2]
        if p < 0:
            p = e
        merch_i[m, MI_TAIL + j] = p
        merch_i[m, MI_CNT + j] += 1
    last = merch_i[m, MI_LAST_EV]
    if last >= 0:
        ev_i[last, 2] = e
    merch_i[m, MI_LAST_EV] = e
    merch_i[m, MI_TOTAL] += 1
    # the card's usual amount (Welford on log amount), time and hour habits
    n1 = card_i[c, CI_TOTAL] + 1
    x = math.log(amount) if amount > 0 else 0.0
    d = x - card_f[c, CF_LOG_MEAN]
    card_f[c, CF_LOG_MEAN] += d / n1
    card_f[c, CF_LOG_M2] += d * (x - card_f[c, CF_LOG_MEAN])
    d = amount - card_f[c, CF_MEAN]
    card_f[c, CF_MEAN] += d / n1
    card_f[c, CF_M2] += d * (amount - card_f[c, CF_MEAN])
    card_i[c, CI_TOTAL] = n1
    card_i[c, CI_LAST_TS] = t
    card_i[c, CI_HOUR + (t // _HOUR_US) % 24] += 1
    # first-time sets
    if _insert(hkeys, meta, _K_MERCHANT, c, m):
        merch_i[m, MI_CARDS] += 1
    if mcc >= 0:
        _insert(hkeys, meta, _K_MCC, c, mcc)
    if country >= 0:
        _insert(hkeys, meta, _K_COUNTRY, c, country)
    if _is_card_present(chan, entry) and not (math.isnan(lat) or math.isnan(lon)):
        card_i[c, CI_LAST_CP_TS] = t
        card_f[c, CF_CP_LAT] = lat
        card_f[c, CF_CP_LON] = lon
    if entry in (_EM_CHIP, _EM_CTLS):
        card_i[c, CI_USED_CHIP] = 1


@njit(cache=True, nogil=True)
def positions_into(merch_i, merchants, out):  # type: ignore[no-untyped-def]
    """``out[i]``: the position (:data:`EV_POS`) :func:`update_one` will give event ``i`` of
    ``merchants`` (codes, in time order) when they are folded in after what the state holds."""
    n_known = merch_i.shape[0]
    extra = np.zeros(max(merchants.max() + 1, 1) if merchants.shape[0] else 1, np.int64)
    for i in range(merchants.shape[0]):
        m = merchants[i]
        if m < 0:
            out[i] = -1
            continue
        extra[m] += 1
        out[i] = extra[m] + (merch_i[m, MI_TOTAL] if m < n_known else 0)


@njit(cache=True, nogil=True)
def decline_push(card_dec, dec_i, meta, c, t):  # type: ignore[no-untyped-def]
    """Record that cardwatch challenged or declined card ``c`` at ``t``."""
    d = meta[M_DECL]
    meta[M_DECL] = d + 1
    dec_i[d, 0] = t
    dec_i[d, 1] = -1
    dec_i[d, 2] = 0
    p = card_dec[c, DC_TAIL]
    while p >= 0 and dec_i[p, 0] <= t - _DAY:
        if dec_i[p, 2] == 0:
            card_dec[c, DC_CNT] -= 1
        p = dec_i[p, 1]
    if p < 0:
        p = d
    card_dec[c, DC_TAIL] = p
    card_dec[c, DC_CNT] += 1
    last = card_dec[c, DC_LAST]
    if last >= 0:
        dec_i[last, 1] = d
    card_dec[c, DC_LAST] = d


@njit(cache=True, nogil=True)
def decline_counts(card_dec, dec_i, meta, cards, ts, declined, out):  # type: ignore[no-untyped-def]
    """For events in time order: ``out[i]`` = the card's declines in the 24 h before event ``i``
    (read first), then event ``i``'s own decline is recorded when ``declined[i]``."""
    for i in range(cards.shape[0]):
        c = cards[i]
        t = ts[i]
        cnt = card_dec[c, DC_CNT]
        p = card_dec[c, DC_TAIL]
        while p >= 0 and dec_i[p, 0] <= t - _DAY:
            if dec_i[p, 2] == 0:
                cnt -= 1
            p = dec_i[p, 1]
        out[i] = cnt
        if declined[i]:
            decline_push(card_dec, dec_i, meta, c, t)


@njit(cache=True, nogil=True, inline="always")
def _expire_labels(merch_i, lab_i, m, j, t):  # type: ignore[no-untyped-def]
    """Take the labels older than label window ``j`` at ``t`` out of merchant ``m``'s sums and
    return the window's new oldest label (-1: none left). One place for adding a label and for
    compacting the log, so that the two can never disagree on what a window holds."""
    p = merch_i[m, MI_LTAIL + j]
    lim = t - _W[_LAB_WINDOWS[j]]
    while p >= 0 and lab_i[p, 0] <= lim:
        merch_i[m, MI_LCNT + j] -= 1
        if lab_i[p, 2] >= 0:
            merch_i[m, MI_LASUM + j] -= lab_i[p, 2]
            merch_i[m, MI_LACNT + j] -= 1
        if lab_i[p, 3] != Z_UNKNOWN:
            merch_i[m, MI_LZSUM + j] -= lab_i[p, 3]
            merch_i[m, MI_LZCNT + j] -= 1
        p = lab_i[p, 1]
    return p


@njit(cache=True, nogil=True)
def label_push(merch_i, lab_i, meta, m, t, amount, pos, z):  # type: ignore[no-untyped-def]
    """Count a fraud label of merchant ``m`` that became visible at ``t``: in its total and, in
    its chain of labels, in its 24-hour, 7- and 30-day windows. Labels come in time order; one
    that is late for its merchant (a back-dated report) counts from the merchant's latest
    label's time, so that every chain stays in time order and its windows exact. ``amount``
    is the payment's amount in millionths (:data:`AMOUNT_UNIT`), -1 when unknown; ``pos`` its
    position among the merchant's attempts (:data:`EV_POS`), -1 when unknown; ``z`` its
    amount's z-score for its card in millionths (:data:`EV_Z`), :data:`Z_UNKNOWN` when unknown.

    The run: a report of the attempt right after the run's latest one extends it, a report of
    a later one starts a new run, a report of an earlier one (a late report) leaves it alone.
    Why: a compromised terminal's every payment is fraud, so reports of consecutive attempts
    are a compromise under way, and its age is what says whether it is still going on."""
    last = merch_i[m, MI_LAST_LAB]
    if last >= 0 and lab_i[last, 0] > t:
        t = lab_i[last, 0]
    run_last = merch_i[m, MI_RUN_LAST]
    if pos > 0 and pos > run_last:
        if run_last > 0 and pos == run_last + 1:
            merch_i[m, MI_RUN_LEN] += 1
        else:
            merch_i[m, MI_RUN_LEN] = 1
            merch_i[m, MI_RUN_START] = t
        merch_i[m, MI_RUN_LAST] = pos
    merch_i[m, MI_FRAUD] += 1
    q = meta[M_LABELS]
    meta[M_LABELS] = q + 1
    lab_i[q, 0] = t
    lab_i[q, 1] = -1
    lab_i[q, 2] = amount
    lab_i[q, 3] = z
    for j in range(_N_LAB_W):
        p = _expire_labels(merch_i, lab_i, m, j, t)
        if p < 0:
            p = q
        merch_i[m, MI_LTAIL + j] = p
        merch_i[m, MI_LCNT + j] += 1
        if amount >= 0:
            merch_i[m, MI_LASUM + j] += amount
            merch_i[m, MI_LACNT + j] += 1
        if z != Z_UNKNOWN:
            merch_i[m, MI_LZSUM + j] += z
            merch_i[m, MI_LZCNT + j] += 1
    if last >= 0:
        lab_i[last, 1] = q
    merch_i[m, MI_LAST_LAB] = q


@njit(cache=True, nogil=True)
def apply_labels(  # type: ignore[no-untyped-def]
    merch_i, lab_i, meta, ev_i, lab_t, lab_m, lab_a, lab_pos, lab_ev, lab_z, ev_base, start, until
):
    """Count the fraud labels reported by ``until`` (sorted by time, from ``start``; ``lab_a``
    their amounts in millionths, ``lab_pos`` their payments' positions at their merchants,
    ``lab_ev`` their payments' event numbers since the state began, the log's first entry being
    number ``ev_base``, -1 when unknown; ``lab_z`` their z-scores, :data:`Z_LOOKUP` for those to
    read from the event now); returns the index of the first label not yet due. The labels log
    must have room for them."""
    p = start
    while p < lab_t.shape[0] and lab_t[p] <= until:
        e = lab_ev[p] - ev_base
        z = lab_z[p]
        if z == Z_LOOKUP:
            z = ev_i[e, EV_Z] if lab_ev[p] >= 0 and 0 <= e < meta[M_EVENTS] else Z_UNKNOWN
        label_push(merch_i, lab_i, meta, lab_m[p], lab_t[p], lab_a[p], lab_pos[p], z)
        p += 1
    return p


@njit(cache=True, nogil=True)
def run_batch(  # type: ignore[no-untyped-def]
    card_i,
    card_f,
    merch_i,
    card_dec,
    ev_i,
    ev_amt,
    dec_i,
    lab_i,
    hkeys,
    meta,
    cards,
    merchs,
    mccs,
    countries,
    homes,
    lats,
    lons,
    chans,
    entries,
    ts,
    amounts,
    lab_t,
    lab_m,
    lab_a,
    lab_pos,
    lab_ev,
    lab_z,
    ev_base,
    lab_start,
    out,
):
    """The live path in a loop: for each event in time order, apply the labels due by its time,
    read its features into ``out[i]``, then update. Declines are not recorded here (they depend
    on decisions; see :func:`decline_counts`). Returns the index of the first label not due."""
    p = lab_start
    for i in range(cards.shape[0]):
        t = ts[i]
        p = apply_labels(
            merch_i, lab_i, meta, ev_i, lab_t, lab_m, lab_a, lab_pos, lab_ev, lab_z, ev_base, p, t
        )
        features_into(
            card_i,
            card_f,
            merch_i,
            card_dec,
            ev_i,
            ev_amt,
            dec_i,
            lab_i,
            hkeys,
            cards[i],
            merchs[i],
            mccs[i],
            countries[i],
            homes[i],
            lats[i],
            lons[i],
            chans[i],
            entries[i],
            t,
            amounts[i],
            out[i],
        )
        update_one(
            card_i,
            card_f,
            merch_i,
            ev_i,
            ev_amt,
            hkeys,
            meta,
            cards[i],
            merchs[i],
            mccs[i],
            countries[i],
            lats[i],
            lons[i],
            chans[i],
            entries[i],
            t,
            amounts[i],
        )
    return p


@njit(cache=True, nogil=True)
def revert_event(card_i, card_f, merch_i, ev_i, ev_amt, c, m, e):  # type: ignore[no-untyped-def]
    """Take event ``e`` (of card ``c`` and merchant ``m``) out of every window that still counts
    it, and flag it so that no later expiry subtracts it again. False when already reverted.

    A window counts ``e`` exactly when its tail is at or before ``e``: chains run in log order,
    and the tail is the oldest event the window held at the entity's last update. An event the
    window has expired already is left alone (its contribution is gone)."""
    if ev_i[e, 3] != 0:
        return False
    ev_i[e, 3] = 1
    a = ev_amt[e]
    for k in range(4):
        p = card_i[c, CI_TAIL + k]
        if 0 <= p <= e:
            card_i[c, CI_CNT + k] -= 1
            card_f[c, CF_SUM + k] -= a
            if card_i[c, CI_CNT + k] == 0:
                card_f[c, CF_SUM + k] = 0.0
    for j in range(_N_MW):
        p = merch_i[m, MI_TAIL + j]
        if 0 <= p <= e:
            merch_i[m, MI_CNT + j] -= 1
    return True


@njit(cache=True, nogil=True)
def revert_decline(card_dec, dec_i, c, d):  # type: ignore[no-untyped-def]
    """:func:`revert_event` for decline ``d`` of card ``c`` (its 24-hour window)."""
    if dec_i[d, 2] != 0:
        return False
    dec_i[d, 2] = 1
    p = card_dec[c, DC_TAIL]
    if 0 <= p <= d:
        card_dec[c, DC_CNT] -= 1
    return True


@njit(cache=True, nogil=True)
def _shift(ptrs, cols, e0):  # type: ignore[no-untyped-def]
    """Pointers (columns ``cols`` of ``ptrs``) after the log lost its first ``e0`` entries."""
    for i in range(ptrs.shape[0]):
        for j in cols:
            if ptrs[i, j] >= 0:
                ptrs[i, j] -= e0


@njit(cache=True, nogil=True)
def compact_events(card_i, card_f, merch_i, ev_i, ev_amt, meta, t):  # type: ignore[no-untyped-def]
    """Expire, for every card and merchant, the events no read at or after ``t`` can count,
    then drop the events no pointer reaches any more. Returns how many were dropped.

    A read at ``t' >= t`` would skip those events anyway, subtracting their amounts from the
    stored sums in this same order; an entity whose every event expired loses its chain (tail
    and last event -1), which is the state the next update expects of a new entity."""
    e_end = meta[M_EVENTS]
    e0 = e_end
    for c in range(card_i.shape[0]):
        for k in range(4):
            p = card_i[c, CI_TAIL + k]
            lim = t - _W[k]
            while p >= 0 and ev_i[p, 0] <= lim:
                if ev_i[p, 3] == 0:
                    card_i[c, CI_CNT + k] -= 1
                    card_f[c, CF_SUM + k] -= ev_amt[p]
                p = ev_i[p, 1]
            card_i[c, CI_TAIL + k] = p
            if p >= 0:
                e0 = min(e0, p)
        if card_i[c, CI_TAIL + 3] < 0:
            card_i[c, CI_LAST_EV] = -1
    for m in range(merch_i.shape[0]):
        for j in range(_N_MW):
            p = merch_i[m, MI_TAIL + j]
            lim = t - _MERCH_W[j]
            while p >= 0 and ev_i[p, 0] <= lim:
                if ev_i[p, 3] == 0:
                    merch_i[m, MI_CNT + j] -= 1
                p = ev_i[p, 2]
            merch_i[m, MI_TAIL + j] = p
            if p >= 0:
                e0 = min(e0, p)
        if merch_i[m, MI_TAIL + _MW_LONGEST] < 0:
            merch_i[m, MI_LAST_EV] = -1
    if e0 == 0:
        return 0
    n = e_end - e0
    for e in range(n):  # forward: the destination is below the source
        ev_i[e, 0] = ev_i[e0 + e, 0]
        ev_i[e, 1] = ev_i[e0 + e, 1]
        ev_i[e, 2] = ev_i[e0 + e, 2]
        ev_i[e, 3] = ev_i[e0 + e, 3]
        ev_i[e, EV_POS] = ev_i[e0 + e, EV_POS]
        ev_i[e, EV_Z] = ev_i[e0 + e, EV_Z]
        ev_amt[e] = ev_amt[e0 + e]
    _shift(ev_i[:n], (1, 2), e0)
    _shift(card_i, (CI_LAST_EV, CI_TAIL, CI_TAIL + 1, CI_TAIL + 2, CI_TAIL + 3), e0)
    _shift(
        merch_i,
        (MI_LAST_EV, MI_TAIL, MI_TAIL + 1, MI_TAIL + 2, MI_TAIL + 3, MI_TAIL + 4, MI_TAIL + 5),
        e0,
    )
    meta[M_EVENTS] = n
    return e0


@njit(cache=True, nogil=True)
def compact_declines(card_dec, dec_i, meta, t):  # type: ignore[no-untyped-def]
    """:func:`compact_events` for the declines log (one 24-hour window per card)."""
    d_end = meta[M_DECL]
    d0 = d_end
    for c in range(card_dec.shape[0]):
        p = card_dec[c, DC_TAIL]
        while p >= 0 and dec_i[p, 0] <= t - _DAY:
            if dec_i[p, 2] == 0:
                card_dec[c, DC_CNT] -= 1
            p = dec_i[p, 1]
        card_dec[c, DC_TAIL] = p
        if p >= 0:
            d0 = min(d0, p)
        else:
            card_dec[c, DC_LAST] = -1
    if d0 == 0:
        return 0
    n = d_end - d0
    for d in range(n):
        dec_i[d, 0] = dec_i[d0 + d, 0]
        dec_i[d, 1] = dec_i[d0 + d, 1]
        dec_i[d, 2] = dec_i[d0 + d, 2]
    _shift(dec_i[:n], (1,), d0)
    _shift(card_dec, (DC_LAST, DC_TAIL), d0)
    meta[M_DECL] = n
    return d0


@njit(cache=True, nogil=True)
def compact_labels(merch_i, lab_i, meta, t):  # type: ignore[no-untyped-def]
    """:func:`compact_events` for the fraud labels log (a 24-hour, a 7- and a 30-day window per
    merchant; the merchants' totals never expire)."""
    q_end = meta[M_LABELS]
    q0 = q_end
    for m in range(merch_i.shape[0]):
        for j in range(_N_LAB_W):
            p = _expire_labels(merch_i, lab_i, m, j, t)
            merch_i[m, MI_LTAIL + j] = p
            if p >= 0:
                q0 = min(q0, p)
        if merch_i[m, MI_LTAIL + _LAB_LONGEST] < 0:
            merch_i[m, MI_LAST_LAB] = -1
    if q0 == 0:
        return 0
    n = q_end - q0
    for q in range(n):
        lab_i[q, 0] = lab_i[q0 + q, 0]
        lab_i[q, 1] = lab_i[q0 + q, 1]
        lab_i[q, 2] = lab_i[q0 + q, 2]
        lab_i[q, 3] = lab_i[q0 + q, 3]
    _shift(lab_i[:n], (1,), q0)
    _shift(merch_i, (MI_LAST_LAB, MI_LTAIL, MI_LTAIL + 1, MI_LTAIL + 2), q0)
    meta[M_LABELS] = n
    return q0
