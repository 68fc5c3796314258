"""Keep-β noise: marginals, reproducibility, the WangNoise config."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crowd.noise import KeepBetaNoise, WangNoise


def test_marginals_keep_beta_and_uniform_otherwise():
    d, beta = 7, 0.6
    x = np.full((400, 250), 3, dtype=np.int64)
    y = KeepBetaNoise(beta, d).perturb(x, np.random.default_rng(0))
    kept = (y == 3).mean()
    assert abs(kept - beta) < 4 * np.sqrt(beta * (1 - beta) / x.size)
    others = np.bincount(y[y != 3], minlength=d)
    assert others[3] == 0
    assert stats.chisquare(np.delete(others, 3)).pvalue > 1e-3


def test_binary_labels_flip_with_probability_one_minus_beta():
    labels = np.array([0, 1] * 5000)
    out = KeepBetaNoise(0.9, 2).perturb(labels, np.random.default_rng(1))
    assert abs((out != labels).mean() - 0.1) < 0.01
    assert set(np.unique(out)) <= {0, 1}


def test_reproducible_and_dtype_preserved():
    x = np.random.default_rng(2).integers(0, 100, size=(5, 9)).astype(np.int32)
    noise = KeepBetaNoise(0.5, 100)
    a = noise.perturb(x, np.random.default_rng(3))
    assert a.dtype == np.int32 and a.shape == x.shape
    np.testing.assert_array_equal(a, noise.perturb(x, np.random.default_rng(3)))


def test_rejects_out_of_domain_and_bad_params():
    with pytest.raises(ValueError):
        KeepBetaNoise(0.5, 3).perturb(np.array([3]), np.random.default_rng(0))
    with pytest.raises(ValueError):
        KeepBetaNoise(1.5, 3)
    with pytest.raises(ValueError):
        KeepBetaNoise(0.5, 1)


def test_wang_noise_kinds():
    w = WangNoise(
        token_beta=0.7, label_beta=0.9, test_token_beta=0.8, length=64, vocab_size=30522, n_classes=2
    )
    assert w.kinds() == [(0.7, 30522), (0.9, 2), (0.8, 30522)]
    assert w.labels == KeepBetaNoise(0.9, 2)
    with pytest.raises(ValueError):
        WangNoise(0.7, 0.9, 0.8, length=64, vocab_size=30522, n_classes=1)
