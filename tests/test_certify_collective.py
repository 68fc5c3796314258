"""Collective certified accuracy (one trigger touches the same groups in every text) against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from crowd.certify import (
    certified_accuracy,
    collective,
    collective_certified_accuracy,
    dpa_certificates,
    fa_bucket_models,
    fa_certificates,
)


def _brute(
    votes: np.ndarray, labels: np.ndarray, budget: int, num_classes: int, reach: list | None = None
) -> float:
    """Min over every set S of at most ``budget`` buckets (``reach[b]``: the models bucket b feeds; default
    one model per bucket) of the accuracy when, in each text, the models S reaches output the worst of every
    assignment (each model: any class or abstain, -1)."""
    m, n_texts = votes.shape
    reach = [frozenset([i]) for i in range(m)] if reach is None else reach
    worst = 1.0
    for size in range(min(budget, len(reach)) + 1):
        for s in itertools.combinations(range(len(reach)), size):
            models = sorted(frozenset().union(*(reach[b] for b in s)))
            assignments = list(itertools.product(range(-1, num_classes), repeat=len(models)))
            outputs = np.array(assignments, dtype=np.int64).reshape(len(assignments), len(models))
            put = (outputs[:, :, None] == np.arange(num_classes)).sum(axis=1)  # (assignments, classes)
            outside = np.delete(votes, models, axis=0)
            kept = (outside[:, :, None] == np.arange(num_classes)).sum(axis=0)  # (texts, classes)
            total = kept[:, None, :] + put[None, :, :]  # (texts, assignments, classes)
            right = (total.sum(axis=2) > 0) & (np.argmax(total, axis=2) == labels[:, None])
            worst = min(worst, float(np.mean(right.all(axis=1))))
    return worst


def _random_case(rng: np.random.Generator, m: int, num_classes: int, n_texts: int):
    votes = rng.integers(0, num_classes, size=(m, n_texts))
    labels = rng.integers(0, num_classes, size=n_texts)
    lean = rng.random((m, n_texts)) < 0.5  # lean to the true label so that some texts survive
    votes = np.where(lean, labels[None, :], votes)
    votes[rng.random((m, n_texts)) < rng.choice([0.0, 0.2, 0.5])] = -1
    return votes, labels


def test_matches_brute_force_on_small_cases():
    """Every set S and every output of its models, m <= 5 models, 2-3 classes, abstentions, budgets 0..m+1."""
    rng = np.random.default_rng(0)
    cases = 0
    for m in range(1, 6):
        for num_classes in (2, 3):
            for _ in range(15):
                votes, labels = _random_case(rng, m, num_classes, n_texts=8)
                for budget in range(m + 2):
                    got = collective_certified_accuracy(votes, labels, budget)
                    assert got == _brute(votes, labels, budget, num_classes), (votes, labels, budget)
                    cases += 1
    assert cases == 2 * 15 * sum(m + 2 for m in range(1, 6))


def test_finite_aggregation_matches_brute_force_on_small_cases():
    """FA over word buckets: every set S of buckets, every output (class or abstain) of every model S reaches;
    (k, d) with k·d <= 6 models, 2-3 classes, abstentions, budgets 0..k·d; also a non-consecutive shift set."""
    rng = np.random.default_rng(3)
    cases, below_per_bucket = 0, 0
    for k, d, shifts in [
        (1, 2, None),
        (2, 2, None),
        (3, 2, None),
        (2, 3, None),
        (1, 3, None),
        (3, 2, (0, 3)),
    ]:
        reach = fa_bucket_models(k, d, shifts)
        n = k * d
        for num_classes in (2, 3):
            for _ in range(8):
                votes, labels = _random_case(rng, n, num_classes, n_texts=6)
                for budget in range(n + 1):
                    got = collective_certified_accuracy(votes, labels, budget, reach)
                    assert got == _brute(votes, labels, budget, num_classes, reach), (
                        k,
                        d,
                        votes,
                        labels,
                        budget,
                    )
                    # the per-text FA certificate is never above it (it lets each text pick its own buckets)
                    certs = fa_certificates(votes.T, k, d, num_classes, shifts, radius_key="textguard")
                    per_text = certified_accuracy(certs, labels, "textguard", budget)
                    assert got >= per_text
                    below_per_bucket += int(got > per_text)
                    cases += 1
    assert cases == 2 * 8 * sum(k * d + 1 for k, d in [(1, 2), (2, 2), (3, 2), (2, 3), (1, 3), (3, 2)])
    assert below_per_bucket > 0  # the two guarantees do differ on some cases


def test_one_model_per_bucket_is_the_default():
    rng = np.random.default_rng(4)
    votes, labels = _random_case(rng, 5, 3, n_texts=20)
    reach = [[i] for i in range(5)]
    assert [collective_certified_accuracy(votes, labels, b, reach) for b in range(6)] == [
        collective_certified_accuracy(votes, labels, b) for b in range(6)
    ]
    with pytest.raises(ValueError, match="bucket_models"):
        collective_certified_accuracy(votes, labels, 1, [[0], [5]])


def test_blocks_of_sets_give_the_same_answer(monkeypatch):
    """Sets are scored in blocks; blocks of one or a few sets must not change the minimum."""
    rng = np.random.default_rng(2)
    votes, labels = _random_case(rng, 5, 3, n_texts=8)
    expect = [_brute(votes, labels, budget, 3) for budget in range(6)]
    monkeypatch.setattr(collective, "_BLOCK_ENTRIES", 1)
    assert [collective_certified_accuracy(votes, labels, b) for b in range(6)] == expect
    monkeypatch.setattr(collective, "_BLOCK_ENTRIES", 50)
    assert [collective_certified_accuracy(votes, labels, b) for b in range(6)] == expect


def test_budget_zero_is_plain_plurality_accuracy_and_all_groups_is_zero():
    votes = np.array([[0, 1, -1, 2], [0, 1, -1, -1], [1, 0, -1, -1]])
    labels = np.array([0, 1, 0, 2])
    # text 2: nobody voted, so it abstains and is wrong; text 3: one vote for 2 wins
    assert collective_certified_accuracy(votes, labels, 0) == 0.75
    assert collective_certified_accuracy(votes, labels, 3) == 0.0
    assert collective_certified_accuracy(votes, labels, 10) == 0.0


def test_one_trigger_cannot_hit_each_text_where_it_is_weakest():
    """Text 0 falls if group 0 is touched, text 1 if group 1 is: one trigger word reaches only one of them."""
    votes = np.array([[0, 1], [1, 0]])
    labels = np.array([0, 0])
    certs = dpa_certificates(np.array([[1, 1], [1, 1]]), radius_key="textguard")
    assert certified_accuracy(certs, labels, "textguard", 1) == 0.0
    assert collective_certified_accuracy(votes, labels, 1) == 0.5


def test_never_below_per_text_certified_accuracy():
    """Per text, radius >= T holds for every S at once; the collective guarantee fixes one S for all texts."""
    rng = np.random.default_rng(1)
    strictly = 0
    for trial in range(60):
        m, num_classes = int(rng.integers(1, 10)), int(rng.integers(2, 4))
        votes, labels = _random_case(rng, m, num_classes, n_texts=40)
        counts = np.stack([(votes == c).sum(axis=0) for c in range(num_classes)], axis=1)
        certs = dpa_certificates(counts, radius_key="textguard")
        for budget in range(4):
            per_text = certified_accuracy(certs, labels, "textguard", budget)
            collective = collective_certified_accuracy(votes, labels, budget)
            assert collective >= per_text, (trial, budget)
            strictly += int(collective > per_text)
            if budget == 0:
                assert collective == per_text
    assert strictly > 0


@pytest.mark.parametrize(
    ("votes", "labels", "budget", "match"),
    [
        (np.array([0, 1]), np.array([0, 1]), 1, "models"),
        (np.array([[0.0, 1.0]]), np.array([0, 1]), 1, "integer"),
        (np.array([[0, -2]]), np.array([0, 1]), 1, "-1"),
        (np.array([[0, 1]]), np.array([0]), 1, "one true label"),
        (np.array([[0, 1]]), np.array([0, -1]), 1, "non-negative"),
        (np.array([[0, 1]]), np.array([0, 1]), -1, "budget"),
        (np.array([[0, 1]]), np.array([0, 1]), 1.5, "budget"),
        (np.zeros((1, 0), dtype=int), np.zeros(0, dtype=int), 1, "texts"),
    ],
)
def test_input_errors(votes, labels, budget, match):
    with pytest.raises(ValueError, match=match):
        collective_certified_accuracy(votes, labels, budget)
