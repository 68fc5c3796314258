"""Total-variation certificate: bound values, SAFER's uniform formula, soundness by exact enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crowd.certify import categorical_tv, safer_tv, tv_bound, tv_deltas, tv_radius


def test_tv_bound_uses_largest_values():
    tv = np.array([0.1, 0.5, 0.2])
    assert tv_bound(tv, 0) == 0.0
    assert tv_bound(tv, 1) == pytest.approx(0.5)
    assert tv_bound(tv, 2) == pytest.approx(1 - 0.5 * 0.8)
    assert tv_bound(tv, 3) == pytest.approx(1 - 0.5 * 0.8 * 0.9)
    assert tv_bound(tv, 4) == 1.0  # a missing position is taken as the worst case
    deltas = tv_deltas(tv, 3)
    assert np.all(np.diff(deltas) >= 0)
    with pytest.raises(ValueError):
        tv_bound(np.array([1.5]), 1)


def test_tv_radius_binary_and_multiclass():
    tv = np.full(10, 0.05)
    # binary: p_lower - Δ_r > 1/2
    r = tv_radius(0.8, 0.2, tv, 10)
    assert 0.8 - tv_bound(tv, r) > 0.5 and not 0.8 - tv_bound(tv, r + 1) > 0.5
    assert tv_radius(0.5, 0.5, tv, 10) is None
    assert tv_radius(0.5, 0.1, tv, 10) == 4  # multi-class: 0.5 - Δ > 0.1 + Δ, Δ_4 = 1 - 0.95^4
    assert tv_radius(0.99, 0.01, np.zeros(5), 3) == 3


def test_safer_tv_is_uniform_tv():
    a, b = {"good", "fine", "great"}, {"good", "fine", "nice", "okay"}
    uni = {w: 1 / len(a) for w in a}
    unib = {w: 1 / len(b) for w in b}
    assert safer_tv(a, b) == pytest.approx(categorical_tv(uni, unib))
    assert safer_tv(b, a) == pytest.approx(categorical_tv(uni, unib))
    # SAFER's 1 - |∩|/|S_w| with the smaller set first would say 1 - 2/3, but the TV is 1 - 2/4.
    assert safer_tv(a, b) == pytest.approx(0.5)
    assert safer_tv(a, a) == 0.0


# --- soundness against exact enumeration -------------------------------------------------------------
VOCAB = 3
POSITIONS = 3


def _product_pmf(dists: list[np.ndarray], words: tuple[int, ...]):
    for z in itertools.product(range(VOCAB), repeat=POSITIONS):
        yield z, float(np.prod([dists[w][zi] for w, zi in zip(words, z)]))


def _smoothed(dists, table, words) -> np.ndarray:
    probs = np.zeros(3)
    for z, p in _product_pmf(dists, words):
        probs[table[z]] += p
    return probs


@settings(max_examples=30, deadline=None)
@given(
    raw=st.lists(
        st.lists(st.integers(1, 20), min_size=VOCAB, max_size=VOCAB), min_size=VOCAB, max_size=VOCAB
    ),
    flips=st.dictionaries(st.integers(0, VOCAB**POSITIONS - 1), st.integers(0, 2), max_size=6),
    base=st.integers(0, 2),
    words=st.tuples(*[st.integers(0, VOCAB - 1)] * POSITIONS),
)
def test_tv_radius_holds_for_every_substitution(raw, flips, base, words):
    """Each word w has a noise distribution π_w; every input within the radius keeps the prediction."""
    assume(_check_radius(raw, flips, base, words) is not None)  # an abstention has nothing to check


def _check_radius(raw, flips, base, words) -> int | None:
    """The TV radius for this table and input, after checking it against every input within it."""
    dists = [np.array(row, dtype=float) / sum(row) for row in raw]
    grid = list(itertools.product(range(VOCAB), repeat=POSITIONS))
    table = {z: flips.get(i, base) for i, z in enumerate(grid)}
    probs = _smoothed(dists, table, words)
    top = int(np.argmax(probs))
    runner = float(np.max(np.delete(probs, top)))
    # per position: worst TV over every replacement the attacker may choose there
    per_pos = [
        max(categorical_tv(dict(enumerate(dists[w])), dict(enumerate(dists[v]))) for v in range(VOCAB))
        for w in words
    ]
    radius = tv_radius(float(probs[top]), runner, np.array(per_pos), POSITIONS)
    if radius is None:
        return None
    for words2 in grid:
        changed = [i for i in range(POSITIONS) if words[i] != words2[i]]
        if len(changed) > radius:
            continue
        probs2 = _smoothed(dists, table, words2)
        assert probs2[top] > np.max(np.delete(probs2, top))
        # and the product bound really bounds the TV of the product distributions
        p1 = dict(_product_pmf(dists, words))
        p2 = dict(_product_pmf(dists, words2))
        assert (
            categorical_tv(p1, p2) <= tv_bound(np.array([per_pos[i] for i in changed]), len(changed)) + 1e-12
        )
    return radius


def test_soundness_check_reaches_positive_radii():
    """The check above is only worth something where the radius is positive: seeded cases reach radii 1+."""
    g = np.random.default_rng(0)
    radii = []
    for _ in range(12):
        common = g.integers(10, 21, size=VOCAB)  # words with similar distributions: small per-position TV
        raw = [[int(c + d) for c, d in zip(common, g.integers(0, 3, size=VOCAB))] for _ in range(VOCAB)]
        flips = {int(i): int(g.integers(3)) for i in g.choice(VOCAB**POSITIONS, size=2, replace=False)}
        words = tuple(int(w) for w in g.integers(0, VOCAB, size=POSITIONS))
        radii.append(_check_radius(raw, flips, int(g.integers(3)), words))
    assert max(r for r in radii if r is not None) >= 1
    assert sum(r is not None and r >= 1 for r in radii) >= 3
