"""Per-card and per-merchant profile state with river's contract: ``features`` reads, ``update``
changes, time comes from the event.

One object serves the live path (one transaction at a time) and batch replay (a whole Arrow table
through :meth:`ProfileState.run`); both call the same compiled functions in
:mod:`cardwatch.profiles.kernel`, so a replay leaves exactly the state the live path would have,
and the live engine can continue from it (crash and restart: rebuild from history).

Fraud labels are events too: a label becomes visible at its ``fraud_reported_at``. Labels wait in
a queue ordered by that time and are counted when event time reaches it (:meth:`advance`), before
the features of any transaction at or after that instant are read.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.profiles import kernel as k
from cardwatch.profiles.encode import Encoded, Vocabulary, encode_table
from cardwatch.profiles.eventtime import US_PER_DAY, to_us
from cardwatch.profiles.features import (
    CHANNEL_CODES,
    ENTRY_CODES,
    MISSING,
    N_FEATURES,
    UNSEEN,
    WINDOWS_US,
)
from cardwatch.schema import Transaction

__all__ = ["COMPACT_SLACK_US", "DEFAULT_ISSUER_COUNTRY", "DEFAULT_LABEL_DELAY_US", "ProfileState"]

DEFAULT_ISSUER_COUNTRY = "FR"
DEFAULT_LABEL_DELAY_US = 7 * US_PER_DAY
#: How far behind the latest event the state compacts its logs by itself.
COMPACT_SLACK_US = US_PER_DAY
_CHUNK = 1 << 16  # rows per kernel call: small enough to hand rows on early
_NAN = float("nan")


def _grown(arr: np.ndarray, rows: int, minus_one: tuple[int, ...] = ()) -> np.ndarray:
    """``arr`` with at least ``rows`` rows (doubling); new rows are zero but ``minus_one``."""
    if arr.shape[0] >= rows:
        return arr
    cap = max(rows, 2 * arr.shape[0], 64)
    new = np.zeros((cap, *arr.shape[1:]), dtype=arr.dtype)
    new[: arr.shape[0]] = arr
    for col in minus_one:
        new[arr.shape[0] :, col] = -1
    return new


#: A live label's amount is looked up when the label comes due (the payment may be later).
_LOOKUP = -2


def _amount_units(amount: float) -> int:
    """An amount as the kernel's integer millionths (exact window sums)."""
    return round(amount * k.AMOUNT_UNIT)


class ProfileState:
    """Everything the profiles remember, as NumPy arrays plus the string vocabularies.

    ``cards`` (optional, :data:`cardwatch.schema.CARDS_SCHEMA`) gives each card's home country;
    a card without one is at home in ``issuer_country``.
    """

    def __init__(
        self,
        cards: pa.Table | None = None,
        issuer_country: str = DEFAULT_ISSUER_COUNTRY,
        label_delay_us: int = DEFAULT_LABEL_DELAY_US,
    ) -> None:
        self.issuer_country = issuer_country
        self.label_delay_us = label_delay_us
        self.cards = Vocabulary()
        self.merchants = Vocabulary()
        self.mccs = Vocabulary()
        self.countries = Vocabulary()
        self.default_home = self.countries.code(issuer_country)
        self.home_of: dict[str, int] = {}
        self.home_name: dict[str, str] = {}
        self.card_i = _grown(np.zeros((0, k.N_CI), np.int64), 64, k.CI_MINUS_ONE)
        self.card_f = np.zeros((64, k.N_CF), np.float64)
        self.card_dec = _grown(np.zeros((0, 3), np.int64), 64, k.DC_MINUS_ONE)
        self.merch_i = _grown(np.zeros((0, k.N_MI), np.int64), 64, k.MI_MINUS_ONE)
        self.ev_i = np.zeros((64, 6), np.int64)
        self.ev_amt = np.zeros(64, np.float64)
        self.dec_i = np.zeros((64, 3), np.int64)
        self.lab_i = np.zeros((64, 4), np.int64)
        self.hkeys = np.full(1024, -1, np.int64)
        self.meta = np.zeros(4, np.int64)
        # (reported_at µs, merchant code, amount in millionths (-1 unknown, _LOOKUP: the
        # payment's, once it is due), the payment's position at its merchant and its event
        # number since the state began (the same; -1 unknown), txn_id)
        # queued labels: (due time, merchant, amount, position, event, z-score, txn id)
        self._pending: list[tuple[int, int, int, int, int, int, str]] = []
        self._labelled: set[str] = set()
        self._row = np.zeros(N_FEATURES, np.float64)
        # Live events still in the log, for :meth:`revert`: txn_id -> (event number, card,
        # merchant, decline number or -1), numbered since the state began; the logs' first
        # entries are numbers ``_ev_base`` and ``_dec_base`` (compaction drops the entries below).
        self._by_txn: OrderedDict[str, tuple[int, int, int, int]] = OrderedDict()
        self._ev_base = 0
        self._dec_base = 0
        if cards is not None:
            self.set_cards(cards)

    # ---- configuration -------------------------------------------------------------------

    def set_cards(self, cards: pa.Table) -> None:
        """Learn each card's home country (cross-border is judged against it)."""
        ids = cards.column("card_id").to_pylist()
        homes = (
            cards.column("home_country").to_pylist()
            if "home_country" in cards.column_names
            else [None] * len(ids)
        )
        for card_id, home in zip(ids, homes, strict=True):
            if card_id is not None and home:
                self.home_of[card_id] = self.countries.code(home)
                self.home_name[card_id] = home

    def home_country(self, card_id: str) -> str:
        """The card's home country (the issuer's country when the cards table has none)."""
        return self.home_name.get(card_id, self.issuer_country)

    # ---- capacity ------------------------------------------------------------------------

    def _reserve(
        self, events: int, declines: int = 0, now_us: int | None = None, labels: int = 0
    ) -> None:
        """Room for ``events`` more events, ``declines`` more declines and ``labels`` more fraud
        labels, and for every code assigned so far. A full log is first compacted (when
        ``now_us``, the earliest time any later read can have, is known), and doubled only if
        that freed less than half of it: the log holds about the longest window's events, not
        the whole history."""
        n_cards, n_merch = len(self.cards), len(self.merchants)
        if (  # the live path's usual case, checked first: nothing to grow
            n_cards <= self.card_i.shape[0]
            and n_merch <= self.merch_i.shape[0]
            and self.meta[k.M_EVENTS] + events <= self.ev_i.shape[0]
            and self.meta[k.M_DECL] + declines <= self.dec_i.shape[0]
            and self.meta[k.M_LABELS] + labels <= self.lab_i.shape[0]
            and 2 * (self.meta[k.M_KEYS] + 3 * events) <= self.hkeys.shape[0]
        ):
            return
        self.card_i = _grown(self.card_i, n_cards, k.CI_MINUS_ONE)
        self.card_f = _grown(self.card_f, n_cards)
        self.card_dec = _grown(self.card_dec, n_cards, k.DC_MINUS_ONE)
        self.merch_i = _grown(self.merch_i, n_merch, k.MI_MINUS_ONE)
        need = self._log_rows(k.M_EVENTS, events, self.ev_i.shape[0], self._compact_events, now_us)
        self.ev_i = _grown(self.ev_i, need)
        self.ev_amt = _grown(self.ev_amt, need)
        need = self._log_rows(
            k.M_DECL, declines, self.dec_i.shape[0], self._compact_declines, now_us
        )
        self.dec_i = _grown(self.dec_i, need)
        need = self._log_rows(k.M_LABELS, labels, self.lab_i.shape[0], self._compact_labels, now_us)
        self.lab_i = _grown(self.lab_i, need)
        need = 2 * (int(self.meta[k.M_KEYS]) + 3 * events)
        if need > self.hkeys.shape[0]:
            size = self.hkeys.shape[0]
            while size < need:
                size *= 2
            new = np.full(size, -1, np.int64)
            k.rehash(self.hkeys, new)
            self.hkeys = new

    def _log_rows(
        self, used: int, more: int, cap: int, compact: Callable[[int], None], now_us: int | None
    ) -> int:
        """Rows a log needs for ``more`` entries: when full, it is compacted first (if the time is
        known) and grown only if that freed less than half of it."""
        need = int(self.meta[used]) + more
        if need > cap and now_us is not None:
            compact(now_us - COMPACT_SLACK_US)
            need = int(self.meta[used]) + more
            if need > cap // 2:
                need = max(need, cap + 1)
        return need

    def compact(self, t_us: int) -> None:
        """Forget the events and declines that no read at or after ``t_us`` can count (those
        older than the longest window before it). Invisible to every feature, bit for bit; the
        state does it by itself when a log is full, a day (:data:`COMPACT_SLACK_US`) behind the
        latest event, so that a slightly late authorisation still finds its windows whole."""
        self._compact_events(t_us)
        self._compact_declines(t_us)
        self._compact_labels(t_us)

    def _compact_events(self, t_us: int) -> None:
        self._ev_base += int(
            k.compact_events(
                self.card_i, self.card_f, self.merch_i, self.ev_i, self.ev_amt, self.meta, t_us
            )
        )
        by_txn = self._by_txn  # in event order: the dropped events are at the front
        while by_txn and next(iter(by_txn.values()))[0] < self._ev_base:
            by_txn.popitem(last=False)

    def _compact_declines(self, t_us: int) -> None:
        self._dec_base += int(k.compact_declines(self.card_dec, self.dec_i, self.meta, t_us))

    def _compact_labels(self, t_us: int) -> None:
        k.compact_labels(self.merch_i, self.lab_i, self.meta, t_us)

    # ---- the live path -------------------------------------------------------------------

    def _encode_one(
        self, txn: Transaction
    ) -> tuple[int, int, int, int, int, float, float, int, int]:
        mcc = MISSING if txn.mcc is None else self.mccs.get(txn.mcc, UNSEEN)
        cc = txn.merchant_country
        country = MISSING if cc is None else self.countries.get(cc, UNSEEN)
        home = self.home_of.get(txn.card_id, self.default_home)
        lat = _NAN if txn.merchant_lat is None else float(txn.merchant_lat)
        lon = _NAN if txn.merchant_lon is None else float(txn.merchant_lon)
        chan = MISSING if txn.channel is None else CHANNEL_CODES.get(txn.channel, MISSING)
        entry = MISSING if txn.entry_mode is None else ENTRY_CODES.get(txn.entry_mode, MISSING)
        return (
            self.cards.get(txn.card_id, UNSEEN),
            self.merchants.get(txn.merchant_id, UNSEEN),
            mcc,
            country,
            home,
            lat,
            lon,
            chan,
            entry,
        )

    def _amount_of(self, txn_id: str) -> int:
        """The amount (millionths) of a payment still in the event log, else -1."""
        found = self._by_txn.get(txn_id)
        if found is None or found[0] < self._ev_base:
            return -1
        return _amount_units(float(self.ev_amt[found[0] - self._ev_base]))

    def _position_of(self, txn_id: str) -> int:
        """The position at its merchant (``kernel.EV_POS``) of a payment still in the event log,
        else -1."""
        found = self._by_txn.get(txn_id)
        if found is None or found[0] < self._ev_base:
            return -1
        return int(self.ev_i[found[0] - self._ev_base, k.EV_POS])

    def _event_of(self, txn_id: str) -> int:
        """The event number (since the state began) of a payment still in the event log, else
        -1."""
        found = self._by_txn.get(txn_id)
        if found is None or found[0] < self._ev_base:
            return -1
        return found[0]

    def _zscore_of(self, event: int) -> int:
        """The amount z-score (``kernel.EV_Z``) of event number ``event`` if still in the log."""
        e = event - self._ev_base
        if event < 0 or not 0 <= e < int(self.meta[k.M_EVENTS]):
            return k.Z_UNKNOWN
        return int(self.ev_i[e, k.EV_Z])

    def _label_amounts(
        self,
        pending: list[tuple[int, int, int, int, int, int, str]],
        table: pa.Table,
        positions: np.ndarray,
        first_event: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The amounts, positions and event numbers of the queued labels; a live report's are
        looked up in the state, else in ``table`` (the payment may come with the history fed
        now; ``positions``: its rows' positions at their merchants, ``first_event`` the event
        number its first row will get). The z-scores are those read when reported, else
        :data:`kernel.Z_LOOKUP`: read by the kernel when due."""
        out = np.array([p[2] for p in pending], dtype=np.int64)
        pos = np.array([p[3] for p in pending], dtype=np.int64)
        ev = np.array([p[4] for p in pending], dtype=np.int64)
        z = np.array([p[5] for p in pending], dtype=np.int64)
        todo = [i for i, p in enumerate(pending) if _LOOKUP in (p[2], p[3], p[4])]
        if todo:
            ids = table.column("txn_id").to_pylist()
            row_of = {txn_id: i for i, txn_id in enumerate(ids)}
            amounts = table.column("amount").to_pylist()
            for i in todo:
                txn_id = pending[i][6]
                if ev[i] == _LOOKUP:
                    e = self._event_of(txn_id)
                    if e < 0 and txn_id in row_of:
                        e = first_event + row_of[txn_id]
                    ev[i] = e
                if out[i] == _LOOKUP:
                    a = self._amount_of(txn_id)
                    if a < 0 and txn_id in row_of:
                        a = _amount_units(float(amounts[row_of[txn_id]]))
                    out[i] = a
                if pos[i] == _LOOKUP:
                    q = self._position_of(txn_id)
                    if q < 0 and txn_id in row_of:
                        q = int(positions[row_of[txn_id]])
                    pos[i] = q
        return out, pos, ev, z

    def advance(self, t_us: int) -> None:
        """Count the fraud labels reported by ``t_us``: event time has reached them."""
        pending = self._pending
        while pending and pending[0][0] <= t_us:
            t = pending[0][0]
            due = []
            while pending and pending[0][0] == t:
                _, m, a, q, e, z, txn_id = heapq.heappop(pending)
                if a == _LOOKUP:
                    a = self._amount_of(txn_id)
                if q == _LOOKUP:
                    q = self._position_of(txn_id)
                if e == _LOOKUP:
                    e = self._event_of(txn_id)
                due.append((m, q, a, e, z))
            # the merchant's run of reported fraud depends on the order of labels of the same
            # instant: take them by merchant and position, as the batch path does, not by
            # what was known of them when they were reported
            for m, q, a, e, z in sorted(due):
                self._reserve(0, 0, t, labels=1)
                if z == k.Z_LOOKUP:
                    z = self._zscore_of(e)
                k.label_push(self.merch_i, self.lab_i, self.meta, m, t, a, q, z)

    def features(
        self, txn: Transaction, out: np.ndarray | None = None, t_us: int | None = None
    ) -> np.ndarray:
        """The features of ``txn`` from the state before it; changes nothing.

        Labels due by the transaction's time must have been counted (:meth:`advance`) first.
        ``t_us``: the transaction's time in microseconds, when the caller has it already.
        """
        c, m, mcc, country, home, lat, lon, chan, entry = self._encode_one(txn)
        if out is None:
            out = np.empty(N_FEATURES, np.float64)
        k.features_into(
            self.card_i,
            self.card_f,
            self.merch_i,
            self.card_dec,
            self.ev_i,
            self.ev_amt,
            self.dec_i,
            self.lab_i,
            self.hkeys,
            c,
            m,
            mcc,
            country,
            home,
            lat,
            lon,
            chan,
            entry,
            to_us(txn.timestamp) if t_us is None else t_us,
            float(txn.amount),
            out,
        )
        return out

    def update(self, txn: Transaction, declined: bool = False) -> None:
        """Fold ``txn`` into the state; ``declined`` when cardwatch challenged or declined it.

        Every attempt counts in the windows whatever its outcome: a burst of declined attempts is
        itself the signal (card testing), and it keeps every feature but the declines count
        independent of decisions, which is what lets a replay compute decisions in bulk.
        """
        c = self.cards.code(txn.card_id)
        m = self.merchants.code(txn.merchant_id)
        mcc = MISSING if txn.mcc is None else self.mccs.code(txn.mcc)
        cc = txn.merchant_country
        country = MISSING if cc is None else self.countries.code(cc)
        t = to_us(txn.timestamp)
        self._reserve(1, 1 if declined else 0, t)
        lat = _NAN if txn.merchant_lat is None else float(txn.merchant_lat)
        lon = _NAN if txn.merchant_lon is None else float(txn.merchant_lon)
        chan = MISSING if txn.channel is None else CHANNEL_CODES.get(txn.channel, MISSING)
        entry = MISSING if txn.entry_mode is None else ENTRY_CODES.get(txn.entry_mode, MISSING)
        e = self._ev_base + int(self.meta[k.M_EVENTS])
        k.update_one(
            self.card_i,
            self.card_f,
            self.merch_i,
            self.ev_i,
            self.ev_amt,
            self.hkeys,
            self.meta,
            c,
            m,
            mcc,
            country,
            lat,
            lon,
            chan,
            entry,
            t,
            float(txn.amount),
        )
        d = -1
        if declined:
            d = self._dec_base + int(self.meta[k.M_DECL])
            k.decline_push(self.card_dec, self.dec_i, self.meta, c, t)
        self._by_txn.pop(txn.txn_id, None)  # a reused id: the latest event is the one kept
        self._by_txn[txn.txn_id] = (e, c, m, d)

    def revert(self, txn_id: str) -> bool:
        """Undo a reversed payment's (0400/0420) effect on the velocity windows: it no longer
        counts in its card's and merchant's window counts and amount sums, nor in the card's
        declines of the last 24 hours if it was declined. The next payment's window features are
        those it would have had without it (counts exactly, sums up to floating-point rounding:
        a sum cannot be rewound bit for bit), and no later expiry subtracts it a second time.

        What stays, because the card really was presented there and then: the "first time"
        merchant, category and country sets and the merchant's distinct cards, the card's usual
        amounts (mean and variance, of the amount and of its log), its attempts ever,
        hour-of-day habits, time of the last attempt, last card-present place and "used chip".
        The merchant's attempts ever (the fraud rate's denominator) stay too.

        Only payments fed by :meth:`update` whose event is still in the log (about the longest
        window plus a day) can be reverted; False for any other id, and for one already reverted.

        >>> from datetime import UTC, datetime
        >>> state = ProfileState()
        >>> state.update(Transaction("t1", datetime(2024, 3, 1, tzinfo=UTC), "c1", 9.5, "m1"))
        >>> state.revert("t1"), state.revert("t1"), state.revert("t2")
        (True, False, False)
        """
        found = self._by_txn.pop(txn_id, None)
        if found is None:
            return False
        e, c, m, d = found
        done = bool(
            k.revert_event(
                self.card_i,
                self.card_f,
                self.merch_i,
                self.ev_i,
                self.ev_amt,
                c,
                m,
                e - self._ev_base,
            )
        )
        if done and d >= self._dec_base:
            k.revert_decline(self.card_dec, self.dec_i, c, d - self._dec_base)
        return done

    def log_marks(self) -> tuple[int, int]:
        """The numbers the next event and the next decline will get: taken before a bulk
        replay, they let :meth:`map_replayed` name the replay's entries afterwards."""
        return (
            self._ev_base + int(self.meta[k.M_EVENTS]),
            self._dec_base + int(self.meta[k.M_DECL]),
        )

    def map_replayed(self, history: pa.Table, declined: np.ndarray, marks: tuple[int, int]) -> None:
        """Enter the payments of ``history``, just replayed into this state (``declined``: per
        row, challenged or declined; ``marks``: :meth:`log_marks` before the replay), in the
        txn-id map as :meth:`update` does for a live one, so that :meth:`revert` can take them
        out after a restart: a replay appends one event per row and one decline per declined
        row, both in row order.

        Only the payments a later one can still count are entered: those within the longest
        window (and the day of slack compaction keeps for late payments) before the last row.
        Reversing an older one would change no feature, and a long history would fill the map
        with them (about 0.7 M entries of 0.86 M rows for the service bench's world, against a
        quarter of that within 31 days).
        """
        first_event, first_decline = marks
        n = history.num_rows
        if n == 0:
            return
        if self.log_marks()[0] != first_event + n:
            raise RuntimeError("the replay did not append one profile event per payment")
        ts = (
            pc.cast(history.column("timestamp"), pa.timestamp("us", tz="UTC"))
            .cast(pa.int64())
            .to_numpy()
        )
        still_counted = int(
            np.searchsorted(ts, ts[-1] - WINDOWS_US[-1] - COMPACT_SLACK_US, "right")
        )
        # Decline number of each row (valid where the row was declined): those before it.
        decline_no = first_decline + np.cumsum(declined) - declined
        start = max(still_counted, self._ev_base - first_event)  # older rows left the log
        ids = history.column("txn_id").slice(start).to_pylist()
        cards = history.column("card_id").slice(start).to_pylist()
        merchants = history.column("merchant_id").slice(start).to_pylist()
        entries = zip(
            range(first_event + start, first_event + n),
            map(self.cards.codes.__getitem__, cards),
            map(self.merchants.codes.__getitem__, merchants),
            np.where(declined, decline_no, -1)[start:].tolist(),
            strict=True,
        )
        by_txn = self._by_txn
        # A reused id: the latest event is the one kept, at its place in event order.
        for txn_id in by_txn.keys() & ids if by_txn else ():
            del by_txn[txn_id]
        if len(set(ids)) == len(ids):
            by_txn.update(zip(ids, entries, strict=True))
            return
        for txn_id, entry in zip(ids, entries, strict=True):
            by_txn.pop(txn_id, None)
            by_txn[txn_id] = entry

    def report_fraud(
        self,
        txn_id: str,
        merchant_id: str,
        reported_at: datetime | int,
        occurred_at: datetime | int | None = None,
        amount: float | None = None,
    ) -> None:
        """A transaction was confirmed as fraud at ``reported_at``: it counts against its
        merchant from that instant (never before the transaction itself). Reporting the same
        ``txn_id`` twice counts once. The payment's amount (for the merchant's mean fraud
        amount) is ``amount``, else the one the state holds for ``txn_id`` (now, or when the
        label comes due if the payment has not been seen yet); a payment no longer in the state
        (older than the longest window, or reversed) counts without one."""
        if txn_id in self._labelled:
            return
        self._labelled.add(txn_id)
        if amount is not None:
            a = _amount_units(amount)
        else:  # now, while the payment is surely in the log; if it has not come yet, when due
            a = self._amount_of(txn_id)
            a = _LOOKUP if a < 0 else a
        q = self._position_of(txn_id)
        q = _LOOKUP if q < 0 else q
        e = self._event_of(txn_id)
        # the z-score too is read now, while its payment is surely in the log
        z = k.Z_LOOKUP if e < 0 else self._zscore_of(e)
        e = _LOOKUP if e < 0 else e
        t = reported_at if isinstance(reported_at, int) else to_us(reported_at)
        if occurred_at is not None:
            t0 = occurred_at if isinstance(occurred_at, int) else to_us(occurred_at)
            t = max(t, t0 + 1)
        m = self.merchants.code(merchant_id)
        self._reserve(0)
        heapq.heappush(self._pending, (t, m, a, q, e, z, txn_id))

    # ---- batch ---------------------------------------------------------------------------

    def encode(self, table: pa.Table) -> Encoded:
        """Encode a history table (codes are assigned to what is new)."""
        return encode_table(
            table,
            self.cards,
            self.merchants,
            self.mccs,
            self.countries,
            self.home_of,
            self.default_home,
        )

    def _positions(self, enc: Encoded) -> np.ndarray:
        """Each row's position among its merchant's attempts (``kernel.EV_POS``), as the kernel
        will number them when it folds the rows in after what the state holds."""
        out = np.empty(len(enc), np.int64)
        k.positions_into(self.merch_i, enc.merchant.astype(np.int64), out)
        return out

    def _labels_of(
        self,
        table: pa.Table,
        enc: Encoded,
        as_of_us: int | None,
        positions: np.ndarray,
        first_event: int,
    ) -> None:
        """Queue the fraud labels of ``table`` (those reported by ``as_of_us`` if given); its
        rows will be events number ``first_event`` on."""
        if "is_fraud" not in table.column_names:
            return
        fraud = pc.fill_null(table.column("is_fraud"), 0).to_numpy(zero_copy_only=False) == 1
        rows = np.flatnonzero(fraud)
        if rows.size == 0:
            return
        if "fraud_reported_at" in table.column_names:
            rep_col = table.column("fraud_reported_at").cast(pa.timestamp("us", tz="UTC"))
            rep = pc.take(rep_col, pa.array(rows)).cast(pa.int64())
            rep_np = pc.fill_null(rep, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            rep_np = np.full(rows.size, -1, np.int64)
        ts = enc.ts[rows]
        rep_np = np.where(rep_np < 0, ts + self.label_delay_us, rep_np)
        rep_np = np.maximum(rep_np, ts + 1)
        ids = pc.take(table.column("txn_id"), pa.array(rows)).to_pylist()
        merch = enc.merchant[rows]
        amounts = [_amount_units(a) for a in enc.amount[rows].tolist()]
        pos = positions[rows].tolist()
        events = (rows + first_event).tolist()
        for txn_id, t, m, a, q, e in zip(
            ids, rep_np.tolist(), merch.tolist(), amounts, pos, events, strict=True
        ):
            if (as_of_us is None or t <= as_of_us) and txn_id not in self._labelled:
                self._labelled.add(txn_id)
                self._pending.append((t, m, a, q, e, k.Z_LOOKUP, ""))
        heapq.heapify(self._pending)

    def run(
        self,
        table: pa.Table,
        as_of_us: int | None = None,
        on_chunk: Callable[[np.ndarray, int, int], object] | None = None,
    ) -> tuple[np.ndarray, Encoded]:
        """Feed a history table (sorted by time) through the state: features of every row, read
        before the row updates the state, exactly as the live path would compute them.

        The declines count is read from the state as it was before the table (decisions for
        these rows are not known yet); :meth:`decline_counts` completes it. ``on_chunk(X, start,
        end)`` is called as soon as rows ``start:end`` of the result are final, so that a caller
        can work on them (score them, on another core: the kernel releases the GIL) while the
        kernel computes the next ones.
        """
        enc = self.encode(table)
        n = len(enc)
        if n > 1 and bool(np.any(np.diff(enc.ts) < 0)):
            raise ValueError("history must be sorted by timestamp")
        positions = self._positions(enc)
        first_event = self._ev_base + int(self.meta[k.M_EVENTS])
        self._labels_of(table, enc, as_of_us, positions, first_event)
        pending = sorted(self._pending)
        lab_t = np.array([p[0] for p in pending], dtype=np.int64)
        lab_m = np.array([p[1] for p in pending], dtype=np.int64)
        lab_a, lab_pos, lab_ev, lab_z = self._label_amounts(pending, table, positions, first_event)
        # labels of the same instant by merchant and position (see :meth:`advance`)
        order = np.lexsort((lab_z, lab_ev, lab_a, lab_pos, lab_m, lab_t))
        pending = [pending[i] for i in order]
        lab_t, lab_m, lab_a, lab_pos, lab_ev, lab_z = (
            x[order] for x in (lab_t, lab_m, lab_a, lab_pos, lab_ev, lab_z)
        )
        out = np.empty((n, N_FEATURES), np.float64)
        p = 0
        for start in range(0, n, _CHUNK):
            end = min(n, start + _CHUNK)
            due = int(np.searchsorted(lab_t, enc.ts[end - 1], side="right")) - p
            self._reserve(end - start, 0, int(enc.ts[start]), labels=max(due, 0))
            s = slice(start, end)
            p = k.run_batch(
                self.card_i,
                self.card_f,
                self.merch_i,
                self.card_dec,
                self.ev_i,
                self.ev_amt,
                self.dec_i,
                self.lab_i,
                self.hkeys,
                self.meta,
                enc.card[s],
                enc.merchant[s],
                enc.mcc[s],
                enc.country[s],
                enc.home[s],
                enc.lat[s],
                enc.lon[s],
                enc.channel[s],
                enc.entry[s],
                enc.ts[s],
                enc.amount[s],
                lab_t,
                lab_m,
                lab_a,
                lab_pos,
                lab_ev,
                lab_z,
                self._ev_base,
                p,
                out[s],
            )
            if on_chunk is not None:
                on_chunk(out, start, end)
        self._pending = pending[p:]
        heapq.heapify(self._pending)
        return out, enc

    def decline_counts(
        self, cards: np.ndarray, ts: np.ndarray, declined: np.ndarray, commit: bool
    ) -> np.ndarray:
        """Each event's card declines in the 24 h before it, given which events were declined;
        with ``commit`` the declines are recorded in the state, else on a scratch copy."""
        self._reserve(0, int(declined.sum()), int(ts[0]) if commit and ts.shape[0] else None)
        if commit:
            card_dec, dec_i, meta = self.card_dec, self.dec_i, self.meta
        else:
            card_dec, dec_i, meta = self.card_dec.copy(), self.dec_i.copy(), self.meta.copy()
        out = np.empty(cards.shape[0], np.int64)
        k.decline_counts(card_dec, dec_i, meta, cards, ts, declined.astype(np.bool_), out)
        return out
