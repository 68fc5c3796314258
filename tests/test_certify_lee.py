"""ℓ0 thresholds for keep-β noise: published values, closed form, brute-force enumeration, soundness."""

from __future__ import annotations

import itertools
import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crowd.certify import lee_radii, lee_radius, lee_threshold, lee_threshold_table, lee_thresholds
from crowd.certify._exact import float_up
from crowd.certify.lee import closed_form_rho1, normalize_kinds
from crowd.certify.lee_multiclass import lee_radius_multiclass

PUBLISHED = ["0.5", "0.875", "0.96875", "0.9921875", "0.99275", "0.9969875", "0.999006875"]


def test_published_values_beta_08_d2():
    assert lee_threshold_table(6, [(0.8, 2)]) == [Fraction(v) for v in PUBLISHED]
    assert lee_threshold(1, [(0.8, 2)]) == 0.875
    floats = lee_thresholds(6, [(0.8, 2)])
    assert list(floats) == [float_up(Fraction(v)) for v in PUBLISHED]


@settings(max_examples=40, deadline=None)
@given(d=st.integers(2, 60), num=st.integers(1, 99))
def test_closed_form_radius_one(d, num):
    beta = num / 100
    assume(beta > 1 / d)  # the closed form assumes the kept value is the most likely one
    exact = lee_threshold_table(1, [(beta, d)])[1]
    assert lee_threshold(1, [(beta, d)]) >= exact
    assert float(exact) == pytest.approx(closed_form_rho1(beta, d), abs=1e-12)


def _brute_rho(kinds_counts: list[tuple[Fraction, int, int]]) -> Fraction:
    """ρ by enumerating every noise outcome of the changed coordinates (x = all 0, x' = all 1)."""
    coords = [(b, d) for b, d, r in kinds_counts for _ in range(r)]
    outcomes = []
    for z in itertools.product(*[range(d) for _, d in coords]):
        p = q = Fraction(1)
        for (b, d), v in zip(coords, z):
            theta = (1 - b) / (d - 1)
            p *= b if v == 0 else theta
            q *= b if v == 1 else theta
        outcomes.append((p, q))
    outcomes.sort(key=lambda pq: pq[0] / pq[1], reverse=True)
    mass_p, mass_q = Fraction(0), Fraction(0)
    for p, q in outcomes:
        if mass_q + q >= Fraction(1, 2):
            return mass_p + p * (Fraction(1, 2) - mass_q) / q
        mass_p, mass_q = mass_p + p, mass_q + q
    raise AssertionError("unreachable")


BETAS = st.sampled_from([Fraction(1, 2), Fraction(3, 5), Fraction(4, 5), Fraction(9, 10), Fraction(7, 20)])


@settings(max_examples=25, deadline=None)
@given(beta=BETAS, d=st.integers(2, 4), r=st.integers(1, 4))
def test_single_kind_matches_enumeration(beta, d, r):
    assume(beta > Fraction(1, d) and d**r <= 300)
    brute = max(_brute_rho([(beta, d, k)]) for k in range(r + 1))
    assert lee_threshold_table(r, [(beta, d)])[r] == brute


@settings(max_examples=20, deadline=None)
@given(b1=BETAS, d1=st.integers(2, 3), b2=BETAS, d2=st.integers(2, 3), r=st.integers(1, 3))
def test_two_kinds_worst_split_matches_enumeration(b1, d1, b2, d2, r):
    assume((b1, d1) != (b2, d2))
    brute = max(_brute_rho([(b1, d1, r1), (b2, d2, r2)]) for r1 in range(r + 1) for r2 in range(r + 1 - r1))
    assert lee_threshold_table(r, [(b1, d1), (b2, d2)])[r] == brute


def test_identical_kinds_merge_and_beta_parsing():
    assert normalize_kinds([(0.8, 5), (0.8, 5), (Fraction(4, 5), 5)]) == normalize_kinds([(0.8, 5)])
    with pytest.raises(ValueError):
        normalize_kinds([(1.0, 5)])
    with pytest.raises(ValueError):
        normalize_kinds([(0.5, 1)])


def test_large_vocabulary_error_direction_and_monotone():
    kinds = [(0.3, 30522), (0.9, 2)]
    exact = lee_threshold_table(12, kinds)
    floats = lee_thresholds(12, kinds)
    assert all(Fraction(f) >= e for f, e in zip(floats, exact))  # never below the true threshold
    assert all(np.nextafter(f, 0) < e for f, e in zip(floats, exact))  # and the smallest such float
    assert all(a <= b for a, b in zip(exact, exact[1:]))


def test_radius_lookup():
    kinds = [(0.8, 2)]
    assert lee_radius(0.5, kinds, 6) is None
    assert lee_radius(0.875, kinds, 6) == 0  # strict inequality
    assert lee_radius(0.8751, kinds, 6) == 1
    assert lee_radius(0.9999, kinds, 6) == 6  # capped at max_radius
    assert lee_radii(np.array([0.4, 0.97, 0.9922]), kinds, 6) == [None, 2, 3]


def test_tabulating_r100_is_fast_and_cached():
    kinds = [(0.8, 30522), (0.9, 2), (0.8, 30522)]
    start = time.perf_counter()
    lee_thresholds(100, kinds)
    lee_thresholds(100, [(0.1, 30522), (0.6, 2)])
    assert time.perf_counter() - start < 20
    start = time.perf_counter()
    lee_thresholds(100, kinds)
    assert time.perf_counter() - start < 0.5


# --- soundness against exact enumeration of a tiny deterministic "classifier" -----------------------
# Coordinates: two training tokens (d=3), one training label (d=2), one test token (same kind as tokens).
DOMAINS = (3, 3, 2, 3)


def _noise_pmf(x: tuple[int, ...], betas: tuple[Fraction, ...]) -> dict[tuple[int, ...], Fraction]:
    pmf = {}
    for z in itertools.product(*[range(d) for d in DOMAINS]):
        p = Fraction(1)
        for xi, zi, b, d in zip(x, z, betas, DOMAINS):
            p *= b if xi == zi else (1 - b) / (d - 1)
        pmf[z] = p
    return pmf


def _smoothed(table, x, betas) -> list[Fraction]:
    probs = [Fraction(0), Fraction(0)]
    for z, p in _noise_pmf(x, betas).items():
        probs[table[z]] += p
    return probs


@settings(max_examples=25, deadline=None)
@given(
    flips=st.sets(st.integers(0, 53), max_size=10),
    base=st.integers(0, 1),
    x=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 1), st.integers(0, 2)),
    tok=st.sampled_from([Fraction(3, 5), Fraction(4, 5), Fraction(9, 10)]),
    lab=st.sampled_from([Fraction(3, 5), Fraction(9, 10)]),
)
def test_certified_radius_holds_for_every_perturbation(flips, base, x, tok, lab):
    """A near-constant table (a few flipped outcomes) so that radii above 0 are common."""
    assume(_check_radius(flips, base, x, tok, lab) is not None)  # an abstention has nothing to check


def _check_radius(flips, base, x, tok, lab) -> int | None:
    """Lee's radius for this table and input, after checking it against every input within it."""
    grid = list(itertools.product(*[range(d) for d in DOMAINS]))
    table = {z: base ^ (i in flips) for i, z in enumerate(grid)}
    betas = (tok, tok, lab, tok)
    probs = _smoothed(table, x, betas)
    top = int(probs[1] > probs[0])
    radius = lee_radius(float(probs[top]), [(tok, 3), (lab, 2)], 4)
    if radius is None:
        return None
    for x2 in grid:
        if sum(a != b for a, b in zip(x, x2)) <= radius:
            assert _smoothed(table, x2, betas)[top] > Fraction(1, 2)
    return radius


def test_soundness_check_reaches_positive_radii():
    """The check above is only worth something where the radius is positive: seeded cases reach radii 1+."""
    g = np.random.default_rng(0)
    radii = []
    for _ in range(12):
        flips = set(g.choice(54, size=int(g.integers(0, 4)), replace=False).tolist())
        x = (int(g.integers(3)), int(g.integers(3)), int(g.integers(2)), int(g.integers(3)))
        tok, lab = Fraction(9, 10), Fraction([3, 9][int(g.integers(2))], 10)
        radii.append(_check_radius(flips, int(g.integers(2)), x, tok, lab))
    assert max(r for r in radii if r is not None) >= 1
    assert sum(r is not None and r >= 1 for r in radii) >= 3


# --- multi-class condition -----------------------------------------------------------------------------
def test_multiclass_matches_binary_form_for_two_classes():
    kinds = [(0.8, 2), (0.6, 3)]
    table = lee_thresholds(5, kinds)
    for r in range(5):
        p = float(table[r]) + 1e-6
        assert lee_radius_multiclass(p, 1 - p, kinds, 5) == lee_radius(p, kinds, 5) == r
    assert lee_radius_multiclass(0.4, 0.45, kinds, 5) is None


def _smoothed3(table, x, betas) -> list[Fraction]:
    probs = [Fraction(0)] * 3
    for z, p in _noise_pmf(x, betas).items():
        probs[table[z]] += p
    return probs


@settings(max_examples=25, deadline=None)
@given(
    flips=st.dictionaries(st.integers(0, 53), st.integers(0, 2), max_size=10),
    base=st.integers(0, 2),
    x=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 1), st.integers(0, 2)),
    tok=st.sampled_from([Fraction(3, 5), Fraction(4, 5), Fraction(9, 10)]),
)
def test_multiclass_radius_holds_for_every_perturbation(flips, base, x, tok):
    assume(_check_multiclass_radius(flips, base, x, tok) is not None)  # an abstention has nothing to check


def _check_multiclass_radius(flips, base, x, tok) -> int | None:
    """The multi-class radius for this table and input, after checking it against every input within it."""
    grid = list(itertools.product(*[range(d) for d in DOMAINS]))
    table = {z: flips.get(i, base) for i, z in enumerate(grid)}
    betas = (tok, tok, Fraction(9, 10), tok)
    probs = _smoothed3(table, x, betas)
    top = max(range(3), key=lambda c: probs[c])
    runner = max(p for c, p in enumerate(probs) if c != top)
    radius = lee_radius_multiclass(float(probs[top]), float(runner), [(tok, 3), (Fraction(9, 10), 2)], 4)
    if radius is None:
        return None
    assert radius >= (lee_radius(float(probs[top]), [(tok, 3), (Fraction(9, 10), 2)], 4) or 0)
    for x2 in grid:
        if sum(a != b for a, b in zip(x, x2)) <= radius:
            probs2 = _smoothed3(table, x2, betas)
            assert all(probs2[top] > probs2[c] for c in range(3) if c != top)
    return radius


def test_multiclass_soundness_check_reaches_positive_radii():
    """As for the binary check: seeded cases with three classes reach radii 1+."""
    g = np.random.default_rng(0)
    radii = []
    for _ in range(12):
        flips = {int(i): int(g.integers(3)) for i in g.choice(54, size=int(g.integers(0, 4)), replace=False)}
        x = (int(g.integers(3)), int(g.integers(3)), int(g.integers(2)), int(g.integers(3)))
        radii.append(_check_multiclass_radius(flips, int(g.integers(3)), x, Fraction(9, 10)))
    assert max(r for r in radii if r is not None) >= 1
    assert sum(r is not None and r >= 1 for r in radii) >= 3
