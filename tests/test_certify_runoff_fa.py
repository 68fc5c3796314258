"""Run-off election with Finite Aggregation: the bucket radius against exact enumeration.

Threat: a corrupted bucket hands the adversary every model it feeds; each such model may output any strict
ranking of the classes or abstain. For a configuration of per-model ballots and its certified radius ``r``,
every set of ``r`` buckets and every output of every model they reach must leave the run-off winner (a set
of fewer buckets reaches a subset of those models, which the adversary may leave as they were). Tightness
(some set of ``r + 1`` buckets changes the winner) is measured where that enumeration is small.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from crowd.certify import (
    fa_bucket_models,
    fa_radius,
    ranking_logits,
    runoff_certificates,
    runoff_fa_radius,
    runoff_predict,
)


def _options(num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ballot a model can cast: each strict ranking, then abstaining. ``first`` (-1: abstains) and
    ``prefers[o, a, b]`` (option ``o`` ranks ``a`` above ``b``)."""
    perms = list(itertools.permutations(range(num_classes)))
    first = np.array([p[0] for p in perms] + [-1])
    prefers = np.zeros((len(perms) + 1, num_classes, num_classes), dtype=np.int64)
    for o, p in enumerate(perms):
        for i, a in enumerate(p):
            for b in p[i + 1 :]:
                prefers[o, a, b] = 1
    return first, prefers


def _winners(ballots: np.ndarray, first: np.ndarray, prefers: np.ndarray, num_classes: int) -> np.ndarray:
    """Run-off winners of ``(configs, models)`` ballot options, vectorised; -1 where every model abstains."""
    votes = first[ballots]
    counts = (votes[:, :, None] == np.arange(num_classes)).sum(axis=1)
    order = np.argsort(-counts, axis=1, kind="stable")
    f1, f2 = order[:, 0], order[:, 1]
    pair = prefers[ballots].sum(axis=1)  # (configs, classes, classes)
    rows = np.arange(len(ballots))
    head = pair[rows, f1, f2] - pair[rows, f2, f1] - (f2 < f1)
    return np.where((votes >= 0).any(axis=1), np.where(head >= 0, f1, f2), -1)


def _logits(ballot: np.ndarray, first: np.ndarray, num_classes: int) -> np.ndarray:
    perms = list(itertools.permutations(range(num_classes)))
    rows = [perms[o] if first[o] >= 0 else None for o in ballot]
    out = np.full((len(rows), num_classes), np.nan)
    for i, r in enumerate(rows):
        if r is not None:
            out[i] = ranking_logits([r])[0]
    return out


def _breaks(ballot, buckets, reach, first, prefers, num_classes, winner, limit=400_000) -> bool | None:
    """Whether some output of the models ``buckets`` reach changes the winner; None when too many to try."""
    models = sorted(frozenset().union(*(reach[b] for b in buckets)))
    n_options = len(first) ** len(models)
    if n_options > limit:
        return None
    outs = np.array(list(itertools.product(range(len(first)), repeat=len(models))), dtype=np.int64)
    configs = np.repeat(ballot[None, :], len(outs), axis=0)
    configs[:, models] = outs
    return bool(np.any(_winners(configs, first, prefers, num_classes) != winner))


STRUCTURES = [(1, 2), (2, 2), (3, 2), (1, 3), (2, 3)]


@pytest.mark.parametrize(("k", "d"), STRUCTURES)
def test_runoff_fa_radius_is_sound_three_classes(k, d):
    rng = np.random.default_rng(k * 10 + d)
    first, prefers = _options(3)
    reach = fa_bucket_models(k, d)
    n = k * d
    checked = tight = tried = 0
    for _ in range(120):
        lean = rng.integers(0, len(first) - 1)  # most models cast one ballot, so some radii are above 0
        ballot = np.where(rng.random(n) < 0.6, lean, rng.integers(0, len(first), size=n))
        if np.all(first[ballot] < 0):
            continue
        logits = _logits(ballot, first, 3)
        winner = runoff_predict(logits)
        assert winner == _winners(ballot[None, :], first, prefers, 3)[0]
        r = runoff_fa_radius(logits, reach)
        assert 0 <= r < n
        for s in itertools.combinations(range(n), r):
            assert _breaks(ballot, s, reach, first, prefers, 3, winner) is not True, (ballot, r, s)
        checked += 1
        outcomes = [
            _breaks(ballot, s, reach, first, prefers, 3, winner)
            for s in itertools.combinations(range(n), r + 1)
        ]
        if None not in outcomes:
            tried += 1
            tight += any(outcomes)
    assert checked >= 100 and tried >= 50
    assert tight / tried >= 0.5  # measured: 100 % of these samples
    print(f"k={k} d={d}: {checked} configurations sound, tight in {tight} of {tried}")


@pytest.mark.parametrize(("k", "d"), STRUCTURES)
def test_two_classes_is_finite_aggregation(k, d):
    """With two classes the run-off elects the plurality winner; the bucket radius is FA's."""
    rng = np.random.default_rng(7)
    first, _ = _options(2)
    reach = fa_bucket_models(k, d)
    for _ in range(200):
        ballot = rng.integers(0, len(first), size=k * d)
        if np.all(first[ballot] < 0):
            continue
        logits = _logits(ballot, first, 2)
        assert runoff_fa_radius(logits, reach) == fa_radius(first[ballot], k, d, 2)


def test_certificates_count_buckets():
    logits = np.stack([ranking_logits([(0, 1, 2)] * 6), ranking_logits([(1, 0, 2)] * 3 + [(0, 1, 2)] * 3)])
    reach = fa_bucket_models(3, 2)
    certs = runoff_certificates(logits, "textguard", "fa", reach)
    assert [c.label for c in certs] == [0, 0]
    assert [c.radii["textguard"] for c in certs] == [runoff_fa_radius(x, reach) for x in logits]
    assert certs[0].radii["textguard"] == 1  # 6 unanimous models: two buckets reach four, enough to lose
