"""Exact enumeration of the vote-count certificates when models may abstain (THEORY §3(d)).

A model's output is a class (plurality), a strict ranking (run-off), or an abstention (-1 vote, all-NaN
logits row). The adversary changes the outputs of any ``r`` models, each to ANY output, abstaining included;
a text on which no model votes abstains, and reaching that counts as a change. A configuration is a multiset
of outputs (model order does not matter) and ``r`` changes reach exactly the multisets ``M'`` of the same size
with ``n − |M ∩ M'| <= r``, so the brute-force radius is ``min{n − |M ∩ M'| : winner(M') != winner(M)} − 1``
over ALL multisets ``M'``. Winners are recomputed here from the definitions, not by the code under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_certify_enumeration import _brute_radius, _multisets  # noqa: E402  (the same exhaustive helpers)

from crowd.certify import (
    dpa_certificates,
    ranking_logits,
    runoff_certificates,
    runoff_predict,
    runoff_radius,
    vote_predict,
    vote_radius,
    votes_cast,
)
from crowd.methods.base import Statistics, aggregate_certifier

ABSTAINS = -1


def _plurality_winner(counts: np.ndarray) -> int:
    """Most votes, ties to the smallest index; ``ABSTAINS`` when nobody voted."""
    best = ABSTAINS
    for c, n in enumerate(counts):
        if n > 0 and (best == ABSTAINS or n > counts[best]):
            best = c
    return best


@pytest.mark.parametrize("num_classes", [2, 3, 4])
def test_plurality_with_abstentions_is_sound_and_tight(num_classes):
    """Every multiset of class votes and abstentions of 1..9 models: radius == brute force, everywhere.

    219 (2 classes) + 714 (3) + 2,001 (4) = 2,934 configurations, 9 + 9 + 9 of them all-abstaining.
    """
    total = abstaining = 0
    for n in range(1, 10):
        configs = _multisets(n, num_classes + 1)  # last kind: abstain
        counts = configs[:, :num_classes]
        winners = np.array([_plurality_winner(c) for c in counts])
        brute = _brute_radius(configs, winners)
        certs = dpa_certificates(counts, radius_key="textguard")
        for cnt, winner, cert, expect in zip(counts, winners, certs, brute):
            if winner == ABSTAINS:
                assert cert.abstained and cert.radii == {} and not votes_cast(cnt)
                abstaining += 1
                continue
            assert cert.label == winner == vote_predict(cnt)
            assert cert.radius("textguard") == vote_radius(cnt) == expect, (cnt, expect)
        total += len(configs)
    assert (total, abstaining) == ({2: 219, 3: 714, 4: 2001}[num_classes], 9)


def test_plurality_no_vote_is_refused_outside_certificates():
    with pytest.raises(ValueError, match="abstain"):
        vote_predict(np.array([0, 0, 0]))
    with pytest.raises(ValueError, match="abstain"):
        vote_radius(np.array([0, 0]))
    cert = dpa_certificates(np.array([[0, 0, 0]]))[0]
    assert cert.label is None and cert.radius("dpa") is None and cert.counts == (0, 0, 0)


def _runoff_winner(rankings: list[tuple[int, ...]], num_classes: int) -> int:
    """Run-off from the definition: top two by first choices, then head to head; smaller index on ties."""
    if not rankings:
        return ABSTAINS
    first = [sum(r[0] == c for r in rankings) for c in range(num_classes)]
    a, b = sorted(range(num_classes), key=lambda c: (-first[c], c))[:2]
    a_over_b = sum(r.index(a) < r.index(b) for r in rankings)
    b_over_a = len(rankings) - a_over_b
    if a_over_b != b_over_a:
        return a if a_over_b > b_over_a else b
    return min(a, b)


def _logits(config: np.ndarray, perms: list[tuple[int, ...]]) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """``(models, classes)`` logits of a multiset of rankings (kinds ``0..K!-1``) and abstentions (last)."""
    rankings = [perms[j] for j in range(len(perms)) for _ in range(config[j])]
    voters = ranking_logits(rankings) if rankings else np.empty((0, len(perms[0])))
    silent = np.full((int(config[-1]), len(perms[0])), np.nan)
    return np.concatenate([voters, silent]), rankings


def _runoff_table(num_classes: int, max_models: int) -> tuple[int, int, int]:
    perms = list(itertools.permutations(range(num_classes)))
    total = tight = abstaining = 0
    for n in range(1, max_models + 1):
        configs = _multisets(n, len(perms) + 1)
        cases = [_logits(m, perms) for m in configs]
        winners = np.array([_runoff_winner(r, num_classes) for _, r in cases])
        brute = _brute_radius(configs, winners)
        certs = runoff_certificates(np.stack([x for x, _ in cases]), radius_key="textguard")
        for (logits, _), winner, cert, expect in zip(cases, winners, certs, brute):
            if winner == ABSTAINS:
                assert cert.abstained and cert.radii == {}
                abstaining += 1
                continue
            radius = runoff_radius(logits)
            assert cert.label == winner == runoff_predict(logits)
            assert cert.radius("textguard") == radius
            assert radius <= expect, f"unsound: {logits.tolist()} radius {radius} > {expect}"
            tight += int(radius == expect)
        total += len(configs)
    return total, tight, abstaining


def test_runoff_with_abstentions_two_and_three_classes():
    """Every multiset of rankings and abstentions of 1..6 models: sound, and (measured) tight everywhere."""
    assert _runoff_table(2, 6) == (83, 83 - 6, 6)
    total, tight, abstaining = _runoff_table(3, 6)
    assert (total, abstaining) == (1715, 6)
    assert tight == total - abstaining  # measured: 1709/1709 voting configurations


def test_runoff_with_abstentions_four_classes():
    """Every multiset of rankings and abstentions of 1..3 models over 4 classes: sound, tight (measured)."""
    total, tight, abstaining = _runoff_table(4, 3)
    assert (total, abstaining) == (3275, 3)
    assert tight == total - abstaining  # measured


def test_runoff_rows_must_be_all_nan_or_finite():
    with pytest.raises(ValueError, match="all-NaN"):
        runoff_radius(np.array([[np.nan, 0.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="abstain"):
        runoff_predict(np.full((2, 3), np.nan))
    # an abstaining model casts no pairwise preference: 1 voter 1>0>2 against 2 silent models
    logits = np.array([[0.0, 1.0, -1.0], [np.nan] * 3, [np.nan] * 3])
    assert runoff_predict(logits) == 1 and runoff_radius(logits) == 0


def test_aggregate_certifier_passes_abstentions_through():
    """Plurality counts ignore -1 votes; run-off receives the NaN rows (models, texts, classes) unchanged."""
    votes = np.array([[0, -1, -1], [1, -1, 0], [1, -1, -1]])  # (models, texts)
    logits = np.full((3, 3, 2), np.nan)
    for j, t in zip(*np.nonzero(votes >= 0)):
        logits[j, t] = [1.0, 0.0] if votes[j, t] == 0 else [0.0, 1.0]
    stats = Statistics()
    plural = aggregate_certifier("plurality", "textguard", "word partitions", 2)(votes, stats, None)
    assert [c.label for c in plural] == [1, None, 0]
    assert [c.counts for c in plural] == [(1, 2), (0, 0), (1, 0)]
    assert plural[0].radius("textguard") == 0 and plural[2].radius("textguard") == 0
    runoff = aggregate_certifier("runoff", "textguard", "word partitions", 2)(votes, stats, logits)
    assert [c.label for c in runoff] == [1, None, 0]
    assert [c.counts for c in runoff] == [(1, 2), (0, 0), (1, 0)]
    # FA counts an abstaining model as no vote, which a corrupted bucket may turn into one (checked by enumeration)
    fa = aggregate_certifier("plurality", "textguard", "FA", 2, fa=(1, 3))(votes, stats, None)
    assert [c.label for c in fa] == [1, None, 0] and [c.counts for c in fa] == [(1, 2), (0, 0), (1, 0)]
    assert fa[0].radius("textguard") == 0 and fa[1].abstained
