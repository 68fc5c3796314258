"""CROWD's Beta-argmax: quadrature π against the literal sampler, degenerate cases, QUADPACK cross-check."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from crowd.noise.beta import fit_beta, induced_probs, induced_probs_csr, sample_beta_argmax

ROWS = [
    [1.0, 0.8],
    [1.0, 0.9, 0.85],
    [1.0, 0.95, 0.81, 0.83, 0.9],
    [1.0, 0.5],  # b < 1: singular density at the right end
    [1.0, 0.1, 0.9],  # a, b < 1
    [1.0, 0.99, 0.99, 0.5],  # tied candidates
    [1.0, 1.0, 0.9],  # a candidate as similar as the word
]
DEGENERATE = [
    ([1.0], [1.0]),  # one candidate
    ([1.0, 1.0, 1.0], [1 / 3] * 3),  # zero variance: uniform
    ([1.0, 0.0, 1.0], [0.5, 0.0, 0.5]),  # σ² = μ(1-μ): Beta(1, 1), uniform over s = 1
    ([1.0, -0.3, 0.0], [1.0, 0.0, 0.0]),  # clipped to {0, 1}
]


def _chi2_pvalue(draws: np.ndarray, probs: np.ndarray) -> float:
    counts = np.bincount(draws, minlength=len(probs))
    support = probs > 0
    assert counts[~support].sum() == 0, "a zero-probability candidate was drawn"
    if support.sum() < 2:
        return 1.0
    expected = probs[support] * len(draws)
    return float(stats.chisquare(counts[support], expected).pvalue)


@pytest.mark.parametrize("sims", ROWS + [d[0] for d in DEGENERATE])
def test_quadrature_matches_beta_argmax_sampling(sims):
    sims = np.array(sims)
    probs = induced_probs(sims)
    draws = sample_beta_argmax(sims, np.random.default_rng(12345), 40_000)
    assert _chi2_pvalue(draws, probs) > 1e-3


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("sims", ROWS)
def test_probs_sum_to_one_and_match_quadpack(sims):
    sims = np.array(sims)
    probs = induced_probs(sims)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    a, b = fit_beta(sims)
    for j, sj in enumerate(sims):
        others = np.delete(sims, j)

        def integrand(x, sj=sj, others=others):
            cdf = stats.beta.cdf(np.minimum(sj * x / others, 1.0), a, b)
            return stats.beta.pdf(x, a, b) * np.prod(cdf)

        breaks = sorted({s / sj for s in others if 0 < s < sj}) or None
        ref = integrate.quad(integrand, 0, 1, points=breaks, limit=200, epsabs=1e-11)[0]
        assert probs[j] == pytest.approx(ref, abs=1e-7)


@pytest.mark.parametrize(("sims", "expected"), DEGENERATE)
def test_degenerate_cases_are_defined(sims, expected):
    assert fit_beta(np.array(sims)) is None
    np.testing.assert_allclose(induced_probs(np.array(sims)), expected)


def test_moments_match_formula():
    s = np.array([1.0, 0.9, 0.85])
    mu, var = s.mean(), s.var()
    a, b = fit_beta(s)
    assert a == pytest.approx(mu * (mu * (1 - mu) / var - 1))
    assert b == pytest.approx((1 - mu) * (mu * (1 - mu) / var - 1))
    assert a / (a + b) == pytest.approx(mu)


def test_csr_batch_equals_single_rows():
    rows = [np.array(r) for r in ROWS] + [np.array([1.0])]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    batch = induced_probs_csr(indptr, np.concatenate(rows))
    for i, r in enumerate(rows):
        np.testing.assert_allclose(batch[indptr[i] : indptr[i + 1]], induced_probs(r), atol=1e-12)
    partial = induced_probs_csr(indptr, np.concatenate(rows), rows=np.array([1]))
    assert np.isnan(partial[: indptr[1]]).all() and not np.isnan(partial[indptr[1] : indptr[2]]).any()
