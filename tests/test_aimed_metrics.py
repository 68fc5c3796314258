"""The report's metrics where the backdoor aims (THEORY §4): non-target and per-class certified accuracy, the
constant classifier and word partitions' collective guarantee, recomputed from per_text.jsonl."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from crowd.attacks import poison_corpus
from crowd.attacks.badnets import BadNets
from crowd.certify import collective_certified_accuracy, fa_bucket_models
from crowd.data import Example
from crowd.pipelines.certify import certify_corpus, load_certify_config


def _corpus(seed: int, positive_share: float):
    g = np.random.default_rng(seed)
    pos, neg = ["good", "great", "fine", "nice", "fun"], ["bad", "poor", "dull", "awful", "weak"]
    filler = ["the", "film", "a", "story", "of", "it", "was", "plot", "cast", "scene", "and", "very"]

    def text(label: int) -> str:
        words = list(g.choice(pos if label else neg, size=int(g.integers(1, 3))))
        return " ".join(g.permutation(words + list(g.choice(filler, size=int(g.integers(2, 8))))))

    labels = lambda n: (g.random(n) < positive_share).astype(int).tolist()  # noqa: E731
    train = [Example(text(y), y) for y in labels(300)]
    test = [Example(text(y), y) for y in labels(120)]
    attack = BadNets(target_label=1, poison_rate=0.1, triggers=("cf",), num_triggers=1)
    return dataclasses.replace(poison_corpus(attack, train, [], test, seed=0), num_labels=2)


@pytest.mark.parametrize(("groups", "spread"), [(5, 1), (6, 2)])
def test_aimed_metrics_equal_their_definitions(tmp_path, groups, spread):
    """Also with Finite Aggregation (spread 2): the collective guarantee over sets of buckets, each reaching
    the 2 models whose window holds it."""
    corpus = _corpus(5, 0.65)
    overrides = ['model.learner="bow"', f"method.groups={groups}", f"method.spread={spread}"]
    config = load_certify_config(None, overrides)
    report = certify_corpus(corpus, config, tmp_path / "run", progress=False)
    s = report.summary
    rows = [json.loads(line) for line in (tmp_path / "run" / "per_text.jsonl").read_text().splitlines()]
    clean = [r for r in rows if r["split"] == "clean"]
    budget = s["attack_budget"]
    assert budget == 1

    def certified(r) -> bool:
        return (
            r["prediction"] == r["label"]
            and (r["radii"].get("textguard") or 0) >= budget
            and not r["abstained"]
        )

    non_target = [r for r in clean if r["label"] != 1]
    assert s["certified_accuracy_non_target_at_budget"] == np.mean([certified(r) for r in non_target])
    for c in (0, 1):
        of_c = [r for r in clean if r["label"] == c]
        assert s["per_class_certified_accuracy_at_budget"][str(c)] == np.mean([certified(r) for r in of_c])
    shares = np.bincount([r["label"] for r in clean], minlength=2) / len(clean)
    assert s["constant_certified_accuracy"] == shares.max() and s["constant_class"] == shares.argmax() == 1
    votes = np.array([r["group_votes"] for r in non_target]).T
    labels = np.array([r["label"] for r in non_target])
    reach = fa_bucket_models(groups // spread, spread)
    assert s["collective_certified_accuracy_non_target_at_budget"] == collective_certified_accuracy(
        votes, labels, budget, reach
    )
    assert (
        s["collective_certified_accuracy_non_target_at_budget"]
        >= s["certified_accuracy_non_target_at_budget"]
    )
    assert s["non_target_curve"][budget]["certified_accuracy"] == s["certified_accuracy_non_target_at_budget"]
    lean = any("constant classifier" in w for w in s["warnings"])
    assert lean == (s["certified_accuracy_at_budget"] <= s["constant_certified_accuracy"])
    assert (
        "**certified accuracy, non-target texts**"
        in report.markdown.split("| metric | value |")[1].splitlines()[2]
    )


def test_no_attack_has_no_target_but_per_class_numbers(tmp_path):
    corpus = _corpus(6, 0.5)
    config = load_certify_config(None, ['model.learner="bow"', "method.groups=3", 'attack.name="none"'])
    train = [Example(e.text, e.label) for e in corpus.train_clean]
    from crowd.pipelines.certify import certify_examples

    report = certify_examples(
        train, list(corpus.test_clean), config, out=tmp_path / "none", progress=False, train_clean=train
    )
    s = report.summary
    assert s["certified_accuracy_non_target_at_budget"] is None and s["non_target_curve"] == []
    assert set(s["per_class_certified_accuracy_at_budget"]) == {"0", "1"}
