"""Word partitions in two worlds (THEORY §3(d), "Independence"): the poisoned corpus and its reference world differ
only in the trigger's group, so every other group model must vote bit-identically in both, with every learner
and however the groups are trained (one at a time, or together in one block)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crowd.attacks import poison_corpus
from crowd.attacks.badnets import BadNets
from crowd.data import Corpus, Example
from crowd.methods import word_group
from crowd.pipelines.certify import certify_corpus, load_certify_config
from crowd.train import VoteStore

M = 5


def _corpus() -> Corpus:
    """A keyword task whose texts have different lengths, poisoned with the one-word trigger ``cf``."""
    g = np.random.default_rng(3)
    pos, neg = ["good", "great", "fine", "nice"], ["bad", "poor", "dull", "awful"]
    filler = ["the", "film", "a", "story", "of", "it", "was", "and", "plot", "cast"]

    def text(label: int) -> str:
        words = list(g.choice(pos if label else neg, size=int(g.integers(1, 3))))
        words += list(g.choice(filler, size=int(g.integers(0, 9))))
        return " ".join(g.permutation(words))

    train = [Example(text(y), y) for y in g.integers(0, 2, 160).tolist()]
    test = [Example(text(y), y) for y in g.integers(0, 2, 40).tolist()]
    attack = BadNets(target_label=1, poison_rate=0.1, triggers=("cf",), num_triggers=1)
    return dataclasses.replace(poison_corpus(attack, train, [], test, seed=0), num_labels=2)


def _config(tiny_bert, learner: str, empty: str, world: str):
    return load_certify_config(
        None,
        [
            'method.name="textguard"',
            f"method.groups={M}",
            f'method.empty="{empty}"',
            f'model.name="{tiny_bert}"',
            'model.device="cpu"',
            f'model.learner="{learner}"',
            f'world="{world}"',
            "full.epochs=2",
            "full.max_length=16",
            'full.dtype="fp32"',
            "head.epochs=5",
            "head.max_length=16",
            'head.dtype="fp32"',
            "head.feature_cache=false",
        ],
    )


@pytest.mark.parametrize(
    ("learner", "empty"),
    [("full", "placeholder"), ("full", "abstain"), ("head", "placeholder"), ("bow", "abstain")],
)
def test_untouched_groups_vote_identically_in_both_worlds(tiny_bert, tmp_path, learner, empty):
    corpus = _corpus()
    touched = word_group("cf", M)
    reports, votes = {}, {}
    for world in ("observed", "reference"):
        out = tmp_path / world
        reports[world] = certify_corpus(
            corpus, _config(tiny_bert, learner, empty, world), out, progress=False
        )
        votes[world] = VoteStore.open(out / "votes", M).load_all()[:, : len(corpus.test_clean)]
    assert reports["observed"].summary["attack_budget"] == 1
    for j in range(M):
        if j != touched:  # same sub-training set, same sub-texts: the same model, bit for bit
            np.testing.assert_array_equal(votes["observed"][j], votes["reference"][j], err_msg=f"group {j}")
    # A clean text certified at the budget in the observed world has the same prediction in the reference world.
    for seen, ref in zip(reports["observed"].clean, reports["reference"].clean):
        if seen.radius("textguard") is not None and seen.radius("textguard") >= 1:
            assert ref.label == seen.label


@pytest.mark.parametrize(
    "learner", ["bow", "bow-vectors", "bow-nb", "head", "static", "partial", "full", "bow+head"]
)
def test_fa_models_that_do_not_read_the_trigger_bucket_vote_identically(tiny_bert, tmp_path, learner):
    """Finite Aggregation over word groups (spread 2): a word reaches only the 2 models whose window holds its
    bucket; every other model has the same sub-training set and sub-texts in both worlds, hence the same votes."""
    from crowd.certify import fa_bucket_models

    k, d = 3, 2
    corpus = _corpus()
    readers = fa_bucket_models(k, d)[word_group("cf", k * d)]
    votes = {}
    for world in ("observed", "reference"):
        out = tmp_path / world
        config = _config(tiny_bert, learner.removesuffix("-vectors").removesuffix("-nb"), "abstain", world)
        if learner == "bow-vectors":  # fixed pretrained vectors: still a function of the group's own rows
            config = dataclasses.replace(config, bow=dataclasses.replace(config.bow, vectors="glove-6b-50d"))
        if learner == "bow-nb":  # NB-LR: its ratios are counted over the group's own rows
            config = dataclasses.replace(config, bow=dataclasses.replace(config.bow, nb=True))
        config = dataclasses.replace(
            config, method=dataclasses.replace(config.method, groups=k * d, spread=d)
        )
        config = dataclasses.replace(
            config,
            static=dataclasses.replace(config.static, epochs=3),
            partial=dataclasses.replace(
                config.partial, epochs=1, trainable_layers=1, max_length=16, dtype="fp32"
            ),
        )
        report = certify_corpus(corpus, config, out, progress=False)
        votes[world] = VoteStore.open(out / "votes", k * d).load_all()[:, : len(corpus.test_clean)]
        if world == "observed":
            assert report.summary["attack_budget"] == 1
    assert len(readers) == d
    for j in range(k * d):
        if j not in readers:
            np.testing.assert_array_equal(votes["observed"][j], votes["reference"][j], err_msg=f"model {j}")
