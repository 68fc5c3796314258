"""Exact enumeration of the vote-count certificates: plurality (DPA, word partitions), run-off, FA.

Threat: the adversary replaces the outputs of the models it reaches by anything. For plurality and run-off
it reaches any ``r`` models; a configuration of ``n`` models is a multiset (model order does not matter),
and ``r`` changes reach exactly the multisets ``M'`` of the same size with ``n − |M ∩ M'| <= r``. So the
brute-force radius is ``min{n − |M ∩ M'| : winner(M') != winner(M)} − 1`` over ALL multisets ``M'``. For
finite aggregation it corrupts buckets; every subset of buckets is tried.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from crowd.certify import (
    fa_bucket_models,
    fa_radius,
    ranking_logits,
    runoff_predict,
    runoff_radius,
    vote_predict,
    vote_radius,
    votes_to_counts,
)

MAX_MODELS = 7


def _multisets(n: int, types: int) -> np.ndarray:
    """Every multiset of ``n`` items over ``types`` kinds, as a ``(configs, types)`` count array."""
    combos = itertools.combinations_with_replacement(range(types), n)
    return np.array([np.bincount(c, minlength=types) for c in combos], dtype=np.int16)


def _brute_radius(multisets: np.ndarray, winners: np.ndarray) -> np.ndarray:
    """Largest number of changed models that cannot change the winner, per configuration (same size)."""
    n = int(multisets[0].sum())
    out = np.empty(len(multisets), dtype=np.int64)
    for start in range(0, len(multisets), 512):
        block = multisets[start : start + 512]
        common = np.minimum(block[:, None, :], multisets[None, :, :]).sum(axis=-1)
        other = winners[start : start + 512, None] != winners[None, :]
        out[start : start + 512] = np.where(other, n - common, n + 1).min(axis=1) - 1
    return out


def _rankings(m: np.ndarray, perms: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    return [perms[j] for j, c in enumerate(m) for _ in range(c)]


@pytest.mark.parametrize("num_classes", [2, 3])
def test_plurality_radius_equals_brute_force(num_classes):
    for n in range(1, MAX_MODELS + 1):
        configs = _multisets(n, num_classes)  # a model's output matters only through its vote
        winners = np.array([vote_predict(c) for c in configs])
        radii = np.array([vote_radius(c) for c in configs])
        np.testing.assert_array_equal(radii, _brute_radius(configs, winners))


def _runoff_table(num_classes: int, max_models: int):
    perms = list(itertools.permutations(range(num_classes)))
    total = tight = 0
    for n in range(1, max_models + 1):
        configs = _multisets(n, len(perms))
        logits = [ranking_logits(_rankings(m, perms)) for m in configs]
        winners = np.array([runoff_predict(x) for x in logits])
        radii = np.array([runoff_radius(x) for x in logits])
        brute = _brute_radius(configs, winners)
        bad = np.flatnonzero(radii > brute)
        assert bad.size == 0, f"unsound for {configs[bad[0]]}: {radii[bad[0]]} > {brute[bad[0]]}"
        total += len(configs)
        tight += int(np.sum(radii == brute))
    return total, tight


def test_runoff_sound_and_tight_three_classes():
    total, tight = _runoff_table(3, MAX_MODELS)
    print(f"run-off, 3 classes, 1..{MAX_MODELS} models: tight in {tight}/{total} = {tight / total:.4f}")
    assert total == 1715
    assert tight / total >= 1.0  # measured: 1715/1715 (the paper's separate-gap bound: 1691/1715)


def test_runoff_sound_and_tight_two_and_four_classes():
    assert _runoff_table(2, MAX_MODELS) == (35, 35)
    assert _runoff_table(4, 3) == (2924, 2924)  # measured


def test_runoff_logit_ties_act_as_index_ordered_rankings():
    """Equal logits break towards the smaller index in both rounds: same as the index-ordered ranking."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        logits = rng.integers(0, 3, size=(int(rng.integers(1, 8)), 3)).astype(float)
        ranks = [tuple(sorted(range(3), key=lambda c, row=row: (-row[c], c))) for row in logits]
        strict = ranking_logits(ranks)
        assert runoff_predict(logits) == runoff_predict(strict)
        assert runoff_radius(logits) == runoff_radius(strict)


def _fa_brute_radius(votes: np.ndarray, k: int, d: int, num_classes: int, shifts=None) -> np.ndarray:
    """Fewest corrupted buckets (each sets the outputs of the models it feeds freely) that flip, minus one."""
    n = k * d
    winners = np.array([vote_predict(c) for c in votes_to_counts(votes, num_classes)])
    onehot = np.eye(num_classes, dtype=np.int64)[votes]
    rows = np.arange(len(votes))
    feeds = fa_bucket_models(k, d, shifts)
    best = np.full(len(votes), n + 1)
    for size in range(1, n + 1):
        for buckets in itertools.combinations(range(n), size):
            free = sorted(set().union(*(feeds[b] for b in buckets)))
            kept = onehot[:, [m for m in range(n) if m not in free], :].sum(axis=1)
            # the adversary puts every free vote on one rival c: flip iff c then beats the winner
            rival = kept + len(free) + (np.arange(num_classes) < winners[:, None])
            rival[rows, winners] = -1
            flips = (rival > kept[rows, winners][:, None]).any(axis=1)
            best = np.where(flips, np.minimum(best, size), best)
    return best - 1


def _fa_cases():
    for num_classes in (2, 3):
        for n in range(1, MAX_MODELS + 1):
            for d in range(1, n + 1):
                if n % d == 0:
                    yield num_classes, n // d, d


def test_finite_aggregation_sound_and_tight():
    total = tight = 0
    for num_classes, k, d in _fa_cases():
        votes = np.array(list(itertools.product(range(num_classes), repeat=k * d)))
        radii = np.array([fa_radius(v, k, d, num_classes) for v in votes])
        brute = _fa_brute_radius(votes, k, d, num_classes)
        assert np.all(radii <= brute), (num_classes, k, d)
        total += len(votes)
        tight += int(np.sum(radii == brute))
        if d == 1:  # FA with spread 1 is DPA
            counts = votes_to_counts(votes, num_classes)
            np.testing.assert_array_equal(radii, [vote_radius(c) for c in counts])
    print(f"finite aggregation, k*d <= {MAX_MODELS}, 2-3 classes: tight in {tight}/{total}")
    assert tight / total >= 1.0  # measured: 8744/8744


@pytest.mark.parametrize(("k", "d", "shifts"), [(3, 2, (0, 3)), (2, 3, (0, 2, 5))])
def test_finite_aggregation_other_shift_sets(k, d, shifts):
    votes = np.array(list(itertools.product(range(3), repeat=k * d)))
    radii = np.array([fa_radius(v, k, d, 3, shifts) for v in votes])
    brute = _fa_brute_radius(votes, k, d, 3, shifts)
    assert np.all(radii <= brute)
    assert np.mean(radii == brute) >= 1.0  # measured


def _outcome(votes: tuple[int, ...], num_classes: int) -> int | None:
    """The plurality over the votes cast (ties to the smallest class); ``None`` when every model abstains."""
    cast = [v for v in votes if v >= 0]
    if not cast:
        return None
    counts = np.bincount(cast, minlength=num_classes)
    return int(np.argmax(counts))


def _fa_abstain_brute_radius(votes: tuple[int, ...], k: int, d: int, num_classes: int) -> int:
    """Exact: the largest r such that no set of r corrupted buckets, each setting every model it feeds to any
    class or to abstain, changes the outcome (a change to abstaining counts)."""
    n = k * d
    feeds = fa_bucket_models(k, d)
    before = _outcome(votes, num_classes)
    for size in range(1, n + 1):
        for buckets in itertools.combinations(range(n), size):
            free = sorted(set().union(*(feeds[b] for b in buckets)))
            for outputs in itertools.product(range(-1, num_classes), repeat=len(free)):
                after = list(votes)
                for m, o in zip(free, outputs):
                    after[m] = o
                if _outcome(tuple(after), num_classes) != before:
                    return size - 1
    return n


@pytest.mark.parametrize(("num_classes", "max_models"), [(2, 6), (3, 4)])
def test_finite_aggregation_with_abstentions_is_sound(num_classes, max_models):
    """Word-group FA: a model may abstain (no word of the text in its buckets) and a trigger may make it vote.
    Every vote/abstain vector of every (k, d) with k·d <= max_models models, every output of every corrupted
    model enumerated."""
    from crowd.certify import fa_certificates

    total = tight = 0
    for n in range(1, max_models + 1):
        for d in (x for x in range(1, n + 1) if n % x == 0):
            k = n // d
            for votes in itertools.product(range(-1, num_classes), repeat=n):
                cert = fa_certificates(np.array([votes]), k, d, num_classes)[0]
                if all(v < 0 for v in votes):
                    assert cert.abstained
                    continue
                assert cert.label == _outcome(votes, num_classes)
                radius, brute = cert.radii["dpa"], _fa_abstain_brute_radius(votes, k, d, num_classes)
                assert radius <= brute, (votes, k, d, radius, brute)
                total += 1
                tight += radius == brute
    print(
        f"finite aggregation with abstentions, {num_classes} classes, <= {max_models} models: tight {tight}/{total}"
    )
    assert tight == total  # measured: 3706/3706 (2 classes), 924/924 (3 classes)
