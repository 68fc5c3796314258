"""Clopper–Pearson bounds and class selection: agreement with SciPy, exact coverage, simultaneous guarantee."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta, binom, binomtest, multinomial

from crowd.certify import (
    bound_top_class,
    bound_top_classes,
    clopper_pearson,
    cp_lower,
    cp_upper,
    min_copies_to_certify,
)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 500), frac=st.floats(0, 1), alpha=st.sampled_from([0.001, 0.01, 0.05, 0.3]))
def test_cp_matches_scipy(n, frac, alpha):
    k = round(frac * n)
    lo, hi = cp_lower(k, n, alpha), cp_upper(k, n, alpha)
    assert lo == (0.0 if k == 0 else beta.ppf(alpha, k, n - k + 1))
    assert hi == (1.0 if k == n else beta.ppf(1 - alpha, k + 1, n - k))
    greater = binomtest(k, n, alternative="greater").proportion_ci(confidence_level=1 - alpha)
    less = binomtest(k, n, alternative="less").proportion_ci(confidence_level=1 - alpha)
    assert lo == pytest.approx(greater.low, abs=1e-9)
    assert hi == pytest.approx(less.high, abs=1e-9)


def test_cp_vectorised_and_sided():
    k = np.array([0, 3, 10])
    lows = cp_lower(k, 10, 0.05)
    assert lows.shape == (3,) and lows[0] == 0.0 and lows[1] == cp_lower(3, 10, 0.05)
    assert np.all(cp_upper(k, 10, 0.05) >= lows)
    assert cp_upper(10, 10, 0.05) == 1.0
    assert clopper_pearson(3, 10, 0.05, "lower") == cp_lower(3, 10, 0.05)
    assert clopper_pearson(3, 10, 0.05, "upper") == cp_upper(3, 10, 0.05)
    with pytest.raises(ValueError):
        clopper_pearson(3, 10, 0.05, "two-sided")
    with pytest.raises(ValueError):
        cp_lower(11, 10, 0.05)
    with pytest.raises(ValueError):
        cp_lower(1, 10, 1.5)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.77, 0.99])
def test_cp_exact_coverage(p):
    """Exact coverage over every possible count: P[L(k) <= p] >= 1 - alpha and P[U(k) >= p] >= 1 - alpha."""
    n, alpha = 60, 0.05
    ks = np.arange(n + 1)
    pmf = binom.pmf(ks, n, p)
    assert pmf[cp_lower(ks, n, alpha) <= p].sum() >= 1 - alpha - 1e-12
    assert pmf[cp_upper(ks, n, alpha) >= p].sum() >= 1 - alpha - 1e-12


def test_cp_coverage_simulation():
    """Simulated coverage of the lower bound is at least the stated rate (up to Monte Carlo error)."""
    rng = np.random.default_rng(0)
    n, alpha, p, reps = 200, 0.1, 0.63, 4000
    ks = rng.binomial(n, p, size=reps)
    rate = np.mean(cp_lower(ks, n, alpha) <= p)
    assert rate >= 1 - alpha - 3 * math.sqrt(alpha * (1 - alpha) / reps)


def _claims_hold(bound, probs) -> bool:
    if bound.abstained:
        return True
    others = np.delete(probs, bound.top_class)
    return probs[bound.top_class] >= bound.p_lower and others.max() <= bound.p_upper_runner_up


@pytest.mark.parametrize("probs", [(0.5, 0.3, 0.2), (0.4, 0.4, 0.2), (0.34, 0.33, 0.33), (0.7, 0.3, 0.0)])
def test_bonferroni_exact_simultaneous_guarantee(probs):
    """Enumerate every count vector: the reported label and both bounds hold with probability >= 1-alpha."""
    probs, n, alpha = np.array(probs), 18, 0.2
    fail = 0.0
    for k0 in range(n + 1):
        for k1 in range(n + 1 - k0):
            counts = np.array([k0, k1, n - k0 - k1])
            if not _claims_hold(bound_top_class(counts, alpha), probs):
                fail += multinomial.pmf(counts, n, probs)
    assert fail <= alpha + 1e-12


def test_binary_unsplit_alpha_would_fail_for_radius_claims():
    """Why K=2 splits alpha: bounding the argmax at unsplit alpha misses p_A >= L_A with prob. near 2 alpha."""
    n, alpha, p = 40, 0.1, 0.5
    miss_unsplit = 0.0
    miss_split = 0.0
    for k in range(n + 1):
        top = 0 if k >= n - k else 1
        top_count = max(k, n - k)
        pmf = binom.pmf(k, n, p)
        miss_unsplit += pmf * (cp_lower(top_count, n, alpha) > p)
        bound = bound_top_class(np.array([k, n - k]), alpha)
        miss_split += pmf * (not _claims_hold(bound, np.array([p, 1 - p])))
        assert bound.top_class == top
    assert miss_unsplit > alpha
    assert miss_split <= alpha


def test_selection_method_uses_selection_counts():
    b = bound_top_class(np.array([10, 90]), 0.01, "selection", selection_counts=np.array([5, 0]))
    assert b.top_class == 0 and b.abstained
    b = bound_top_class(np.array([10, 90]), 0.01, "selection", selection_counts=np.array([0, 5]))
    assert b.label == 1 and b.p_lower == cp_lower(90, 100, 0.01)
    assert b.p_upper_runner_up == 1 - b.p_lower
    with pytest.raises(ValueError):
        bound_top_class(np.array([10, 90]), 0.01, "selection")
    with pytest.raises(ValueError):
        bound_top_class(np.array([10, 90]), 0.01, "bonferroni", selection_counts=np.array([0, 5]))


def test_selection_exact_guarantee():
    """With independent selection counts, p_A >= L_A with probability >= 1-alpha (exact enumeration)."""
    probs, n, n0, alpha = np.array([0.45, 0.55]), 30, 6, 0.1
    fail = 0.0
    for s0, k0 in itertools.product(range(n0 + 1), range(n + 1)):
        b = bound_top_class(np.array([k0, n - k0]), alpha, "selection", np.array([s0, n0 - s0]))
        if not _claims_hold(b, probs):
            fail += binom.pmf(s0, n0, probs[0]) * binom.pmf(k0, n, probs[0])
    assert fail <= alpha + 1e-12


def test_abstain_on_tie_and_bonferroni_levels():
    assert bound_top_class(np.array([50, 50]), 0.001).abstained
    b = bound_top_class(np.array([95, 5]), 0.01)
    assert b.p_lower == cp_lower(95, 100, 0.005)
    assert b.p_upper_runner_up == pytest.approx(1 - b.p_lower)
    rows = bound_top_classes(np.array([[95, 5], [5, 95]]), 0.01)
    assert [r.label for r in rows] == [0, 1]


@pytest.mark.parametrize(
    ("alpha", "classes", "method", "n_selection"),
    [
        (0.05, 2, "bonferroni", 0),
        (0.001, 3, "bonferroni", 0),
        (0.05 / 1821, 2, "bonferroni", 0),
        (0.05, 2, "selection", 7),
    ],
)
def test_min_copies_to_certify_is_the_first_n_where_a_unanimous_vote_does_not_abstain(
    alpha, classes, method, n_selection
):
    needed = min_copies_to_certify(alpha, classes, method, n_selection)

    def abstains(n_models: int) -> bool:
        counts = np.zeros(classes, dtype=np.int64)
        counts[0] = n_models - n_selection
        return bound_top_class(counts, alpha, method, counts if method == "selection" else None).abstained

    assert all(abstains(n) for n in range(n_selection + 1, needed)) and not abstains(needed)
    assert not abstains(needed + 5)
