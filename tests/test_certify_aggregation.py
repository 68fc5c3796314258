"""Vote-count certificates as an API: plurality, run-off, finite aggregation (numbers, shapes, errors)."""

from __future__ import annotations

import numpy as np
import pytest

from crowd.certify import (
    dpa_certificates,
    dpa_predict,
    dpa_radius,
    fa_bucket_models,
    fa_certificates,
    fa_model_buckets,
    fa_predict,
    fa_radius,
    fa_training_sets,
    ranking_logits,
    runoff_certificates,
    runoff_costs,
    runoff_predict,
    runoff_radius,
    runoff_tally,
    vote_predict,
    vote_radius,
    votes_to_counts,
)

PERMS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]


def _logits(multiset):
    return ranking_logits([PERMS[j] for j, c in enumerate(multiset) for _ in range(c)])


def test_dpa_names_are_the_plurality_certificate():
    assert dpa_radius is vote_radius and dpa_predict is vote_predict
    assert vote_radius(np.array([3, 3, 1])) == 0
    assert vote_radius(np.array([1, 5, 1])) == 1  # (5 - (1 + 1)) // 2
    certs = dpa_certificates(np.array([[1, 5, 1]]), radius_key="textguard")
    assert certs[0].radius("textguard") == 1 and certs[0].label == 1


def test_votes_to_counts_and_errors():
    np.testing.assert_array_equal(votes_to_counts(np.array([[0, 2, 2]]), 3), [[1, 0, 2]])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        votes_to_counts(np.array([[0, 3]]), 3)
    with pytest.raises(ValueError, match="integer"):
        votes_to_counts(np.array([[0.5, 1.0]]), 3)
    with pytest.raises(ValueError, match="whole"):
        vote_radius(np.array([1.5, 0.0]))


def test_runoff_rounds_and_tie_rules():
    # 3 models 0>1>2, 2 models 1>2>0, 1 model 2>0>1: finalists 0 and 1; 0 wins 4-2.
    tally = runoff_tally(_logits([3, 0, 0, 2, 1, 0]))
    assert tally.counts == (3, 2, 1) and tally.finalists == (0, 1) and tally.winner == 0
    # the round-1 runner-up wins round 2: 2 x 0>1>2, 1 x 1>0>2, 1 x 2>1>0 -> finalists (0, 1), 1 vs 0 = 2-2:
    assert runoff_predict(_logits([2, 0, 1, 0, 0, 1])) == 0  # tie goes to the smaller index
    assert runoff_predict(_logits([1, 0, 1, 0, 0, 1])) == 1  # 0:1 1:1 2:1 -> (0, 1); 1 wins 2-1
    # equal logits: argmax and head-to-head both go to the smaller index
    assert runoff_predict(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])) == 0


def test_runoff_new_opponent_needs_both_gaps_at_once():
    """Counting the round-1 and head-to-head needs separately (the paper's max) would certify 0 here.

    Class 2 must pass class 1 in round 1 (only a class-1 voter changed to class 2 suffices alone) and
    must beat 0 head to head (3-3 now; a class-1 voter already ranks 2 above 0, so that change does not
    help): no single change does both, and brute force confirms radius 1.
    """
    logits = _logits([3, 0, 0, 2, 1, 0])
    assert runoff_costs(logits)["new_opponent"] == 2
    assert runoff_radius(logits) == 1


def test_runoff_certificates_shape_key_and_errors():
    logits = np.stack([_logits([3, 0, 0, 2, 1, 0]), _logits([6, 0, 0, 0, 0, 0])])
    certs = runoff_certificates(logits, radius_key="textguard")
    assert [c.label for c in certs] == [0, 0]
    # 6 unanimous models: 3 changes give at most a 3-3 tie, which class 0 wins
    assert [c.radius("textguard") for c in certs] == [1, 3]
    assert certs[0].method == "runoff" and certs[0].alpha == 0.0 and certs[0].counts == (3, 2, 1)
    with pytest.raises(ValueError, match="texts, models, classes"):
        runoff_certificates(logits[0])
    with pytest.raises(ValueError, match="finite"):
        runoff_radius(np.array([[np.nan, 0.0], [1.0, 0.0]]))


def test_runoff_two_classes_is_plurality():
    rng = np.random.default_rng(1)
    for _ in range(100):
        logits = rng.normal(size=(int(rng.integers(1, 12)), 2))
        counts = np.bincount(np.argmax(logits, axis=1), minlength=2)
        assert runoff_predict(logits) == vote_predict(counts)
        assert runoff_radius(logits) == vote_radius(counts)


def test_fa_assignment_and_inverse():
    feeds = fa_bucket_models(3, 2)
    assert feeds[0] == {0, 1} and feeds[5] == {5, 0}
    trains_on = fa_model_buckets(3, 2)
    for b, models in enumerate(feeds):
        assert all(b in trains_on[m] for m in models)
    assert all(len(bs) == 2 for bs in trains_on)
    assert fa_bucket_models(3, 2, shifts=(0, 3))[4] == {4, 1}
    with pytest.raises(ValueError, match="distinct"):
        fa_bucket_models(3, 2, shifts=(1, 1))
    sets = fa_training_sets(np.array([0, 1, 5, 3]), 3, 2)
    assert [s.tolist() for s in sets] == [[0, 2], [0, 1], [1], [3], [3], [2]]


def test_fa_radius_examples_and_reduction_to_dpa():
    votes = np.array([0, 0, 0, 0, 1, 1])
    # d = 1 is DPA on the same votes
    assert fa_radius(votes, 6, 1, 2) == vote_radius(np.array([4, 2]))
    # d = 2: bucket deltas (1 + [v = 0] - [v = 1]) summed over models b, b+1 -> 4, 4, 4, 2, 0, 2; gap 2
    assert fa_radius(votes, 3, 2, 2) == 0
    assert fa_predict(votes, 2) == 0
    with pytest.raises(ValueError, match="one vote per model"):
        fa_radius(votes, 2, 2, 2)


def test_fa_certificates():
    votes = np.array([[2, 2, 2, 2, 0, 1], [1, 1, 1, 1, 1, 1]])
    certs = fa_certificates(votes, 3, 2, num_classes=3)
    assert [c.label for c in certs] == [2, 1]
    assert certs[1].radius("dpa") == fa_radius(votes[1], 3, 2, 3)
    assert certs[0].counts == (1, 1, 4) and certs[0].method == "fa" and "k=3, d=2" in certs[0].noise
    same = fa_certificates(votes, 6, 1, num_classes=3)
    assert [c.radii for c in same] == [c.radii for c in dpa_certificates(votes_to_counts(votes, 3))]
