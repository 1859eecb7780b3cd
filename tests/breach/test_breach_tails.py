"""The fast hypergeometric tails that every tested window's p-value comes from: never below the
exact tail (a bound that errs towards no alert), and a place visited *less* often by defrauded
cards than chance says is never an alert.

A popular chain in a world with much fraud has hundreds of defrauded cards expected among its
customers. The fast tail summed 48 masses from the observed count and bounded the rest by a
geometric series, which holds only past the mode; below it the "bound" was a tiny number, and
three big chains were alerted in a breach-free world with 59 defrauded cards where 213 were
expected.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import hypergeom

from cardwatch.breach.stats import log_p_windows


def test_far_fewer_defrauded_cards_than_expected_is_no_evidence() -> None:
    population, customers = 30_000, 17_229
    fraud = 213.31 * population / customers  # 213 defrauded customers expected
    log_p = log_p_windows(np.array([59, 150, 200]), np.full(3, customers), population,
                          np.full(3, fraud))  # fmt: skip
    assert np.all(np.exp(log_p) > 0.5)  # more likely than not, not 1e-17


@given(
    st.integers(1, 2_000)
    .flatmap(
        lambda pop: st.tuples(
            st.just(pop),
            st.integers(1, pop),  # customers of the place in the window
            st.integers(1, pop),  # defrauded cards (activity-weighted)
        )
    )
    .flatmap(lambda t: st.tuples(st.just(t), st.integers(1, min(t[1], t[2])))),
)
def test_the_fast_tail_is_never_below_the_exact_one(case) -> None:
    (population, customers, fraud), k = case
    if customers - k > population - fraud:  # impossible draws are 0 by definition
        return
    fast = float(log_p_windows(np.array([k]), np.array([customers]), population,
                               np.array([float(fraud)]))[0])  # fmt: skip
    exact = float(hypergeom.logsf(k - 1, population, fraud, customers))
    assert fast >= exact - 1e-6
    if -600 < exact < -1:  # where alerts are decided, and within double precision: close
        assert fast - exact < 0.05
