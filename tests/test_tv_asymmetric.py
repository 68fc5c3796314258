"""The TV certificate on an asymmetric synonym graph: one relation in the budget and the radius (THEORY §3b).

On the graph below ``b ∈ S_a`` but ``a ∉ S_b`` (SAFER's imported table has many such pairs). Poisoning the
clean corpus ``a c`` into ``b c`` is one covered synonym substitution. The pipeline certifies the observed
(poisoned) corpus from the per-position terms of its words; maximising over ``S_b`` alone gives 0 for ``b``
(its set is a clique of equal sets), so any ``p_lower > 1/2`` would be printed as certified at budget 1,
while the exact total variation between the two product distributions is 2/3.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from crowd.attacks.budget import attack_budget
from crowd.certify import tv_bound, tv_radius
from crowd.data import Example
from crowd.noise import CrowdNoise, SaferNoise
from synonyms.graph import SynonymGraph


@pytest.fixture(scope="module")
def graph() -> SynonymGraph:
    return SynonymGraph.from_sets(
        {
            "a": [("b", 0.9)],
            "b": [("c", 0.85), ("d", 0.8)],
            "c": [("b", 0.85), ("d", 0.82)],
            "d": [("b", 0.8), ("c", 0.82)],
        }
    )


def exact_product_tv(noise, clean: list[str], poisoned: list[str]) -> float:
    """TV between the noisy outputs of two word sequences, by enumerating every joint outcome."""
    p_dists = [dict(zip(*noise.distribution(w))) for w in clean]
    q_dists = [dict(zip(*noise.distribution(w))) for w in poisoned]
    supports = [sorted(set(p) | set(q)) for p, q in zip(p_dists, q_dists)]
    total = 0.0
    for outcome in itertools.product(*supports):
        p = np.prod([d.get(o, 0.0) for d, o in zip(p_dists, outcome)])
        q = np.prod([d.get(o, 0.0) for d, o in zip(q_dists, outcome)])
        total += abs(p - q)
    return 0.5 * total


def test_relation_is_directed(graph):
    assert graph.covers("a", "b") and not graph.covers("b", "a")
    assert graph.substitutes("a") == ["b"] and graph.substitutes("b") == ["c", "d"]
    assert graph.substituted_by("b") == ["a", "c", "d"] and graph.substituted_by("a") == []
    assert not graph.covers("a", "a") and not graph.covers("zzz", "b") and graph.substitutes("zzz") == []


def test_relation_enumerations_agree_with_covers(graph):
    words = [*graph.words, "zzz"]
    for w, v in itertools.product(words, words):
        assert graph.covers(w, v) == (v in graph.substitutes(w)) == (w in graph.substituted_by(v))


@pytest.mark.parametrize("noise_cls", [SaferNoise, CrowdNoise])
def test_asymmetric_substitution_is_not_certified_at_its_budget(graph, noise_cls):
    noise = noise_cls(graph)
    clean, poisoned = ["a", "c"], ["b", "c"]
    budget = attack_budget([Example("a c", 0)], [Example("b c", 0)], graph=graph)
    assert budget.synonym_substitutions == 1 and budget.non_synonym_edits == 0
    true_tv = exact_product_tv(noise, clean, poisoned)
    assert true_tv > 0.3
    # A p_lower for which the true condition fails: some event has probability >= p_lower on the
    # poisoned corpus and <= 1/2 on the clean one.
    p_lower = 0.5 + 0.9 * true_tv
    assert p_lower - true_tv <= 0.5
    per_position = noise.max_tv_array(poisoned)  # what the pipeline computes over the observed words
    assert tv_bound(per_position, budget.synonym_substitutions) >= true_tv - 1e-12
    radius = tv_radius(p_lower, 1 - p_lower, per_position, max_radius=3)
    assert radius is None or radius < budget.synonym_substitutions


@pytest.mark.parametrize("noise_cls", [SaferNoise, CrowdNoise])
def test_every_covered_pair_is_bounded_on_both_sides(graph, noise_cls):
    noise = noise_cls(graph)
    for w in graph.words:
        for v in graph.substitutes(w):
            tv = exact_product_tv(noise, [w], [v])
            assert noise.max_tv(w) >= tv - 1e-12 and noise.max_tv(v) >= tv - 1e-12


def test_safer_uniform_value_hand_checked(graph):
    # π_a = {a: 1/2, b: 1/2}, π_b = uniform over {b, c, d}: TV = 1/2 (1/2 + 1/6 + 1/3 + 1/3) = 2/3.
    noise = SaferNoise(graph)
    assert exact_product_tv(noise, ["a", "c"], ["b", "c"]) == pytest.approx(2 / 3)
    assert noise.max_tv("b") == pytest.approx(2 / 3)
