"""Partition-aggregation radius: formula and brute force over every way to move votes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crowd.certify import dpa_budget, dpa_predict, dpa_radii, dpa_radius


def test_formula_examples():
    assert dpa_radius(np.array([5, 5])) == 0  # tie goes to class 0; one move flips it
    assert dpa_radius(np.array([6, 4])) == 1
    assert dpa_radius(np.array([4, 6])) == 0  # class 1 must beat class 0's tie advantage
    assert dpa_radius(np.array([3, 7])) == 1
    assert dpa_radius(np.array([10, 0, 0])) == 5
    assert list(dpa_radii(np.array([[6, 4], [3, 7]]))) == [1, 1]
    with pytest.raises(ValueError):
        dpa_radius(np.array([3]))


def _reachable(counts: tuple[int, ...], moves: int) -> set[tuple[int, ...]]:
    """Vote vectors reachable when each inserted/deleted example changes one partition's vote."""
    frontier = {counts}
    seen = set(frontier)
    for _ in range(moves):
        nxt = set()
        for c in frontier:
            for src, dst in itertools.permutations(range(len(c)), 2):
                if c[src] > 0:
                    moved = list(c)
                    moved[src] -= 1
                    moved[dst] += 1
                    nxt.add(tuple(moved))
        frontier = nxt - seen
        seen |= nxt
    return seen


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(0, 6), min_size=2, max_size=3))
def test_radius_holds_and_is_tight(counts):
    counts = tuple(counts)
    assume(sum(counts) > 0)
    pred, radius = dpa_predict(np.array(counts)), dpa_radius(np.array(counts))
    assert all(dpa_predict(np.array(c)) == pred for c in _reachable(counts, radius))
    assert any(dpa_predict(np.array(c)) != pred for c in _reachable(counts, radius + 1))


def test_budget_unit():
    assert dpa_budget(10) == 20
    assert dpa_budget(10, replaces_clean=False) == 10
