"""The bow+head learner: per copy, the mean probabilities of a bag-of-words model and a frozen-encoder head."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from crowd.testing.toy_task import word_group_corpus
from crowd.train import BagOfWords, CopyData, Ensemble, HeadOnly, PairEncoder
from crowd.train.data import FitRequest

BOW_LENGTH, HEAD_LENGTH = 16, 24


def learner(**head) -> Ensemble:
    settings = dict(
        dtype="fp32", lr=1e-2, epochs=3, batch_size=8, max_length=HEAD_LENGTH, feature_cache=False
    )
    return Ensemble(BagOfWords(max_length=BOW_LENGTH), HeadOnly(**{**settings, **head}))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits.astype(np.float64) - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def test_probabilities_are_the_mean_of_the_members_run_alone(tiny_bert):
    from crowd.testing.toy_task import copy_maker, keyword_task
    from crowd.train.bow_encoder import HashedWordEncoder

    ens = learner()
    pair = ens.encoder(str(tiny_bert))
    words, pieces = HashedWordEncoder(BOW_LENGTH), ens.head.encoder(str(tiny_bert))
    task = keyword_task(n_train=64, n_test=24, seed=0)
    js = [0, 1, 2]
    copies = [copy_maker(task, pair, flip=0.1, seed=0)(j) for j in js]
    bow_copies = [copy_maker(task, words, flip=0.1, seed=0)(j) for j in js]
    head_copies = [copy_maker(task, pieces, flip=0.1, seed=0)(j) for j in js]
    # the pair encoding is the two encodings side by side, split at the bow's max_length
    assert pair.split_at == BOW_LENGTH and copies[1].train_ids.shape[1] == BOW_LENGTH + HEAD_LENGTH
    assert np.array_equal(copies[1].train_ids[:, :BOW_LENGTH], bow_copies[1].train_ids)
    assert np.array_equal(copies[1].test_mask[:, BOW_LENGTH:], head_copies[1].test_mask)

    logits = ens.fit_predict(FitRequest(str(tiny_bert), copies, js, 0, "cpu", 2))
    bow = ens.bow.fit_predict(FitRequest("unused", bow_copies, js, 0, "cpu", 2))
    head = ens.head.fit_predict(FitRequest(str(tiny_bert), head_copies, js, 0, "cpu", 2))
    assert logits.shape == (3, 24, 2) and logits.dtype == np.float32 and np.all(np.isfinite(logits))
    want = (softmax(bow) + softmax(head)) / 2
    np.testing.assert_allclose(softmax(logits), want, atol=1e-6)
    np.testing.assert_allclose(np.exp(logits.astype(np.float64)), want, rtol=1e-6)  # log of the mean
    assert np.abs(softmax(bow) - softmax(head)).max() > 0.1  # the two members do disagree
    agree = bow.argmax(-1) == head.argmax(-1)
    assert np.array_equal(
        logits.argmax(-1)[agree], bow.argmax(-1)[agree]
    )  # where both agree, so does the mean


def test_a_copy_does_not_depend_on_its_group(tiny_bert):
    from crowd.testing.toy_task import copy_maker, keyword_task

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ens = learner()
        pair = ens.encoder(str(tiny_bert))
        task = keyword_task(n_train=48, n_test=16, seed=0)
        mine = copy_maker(task, pair, flip=0.1, seed=0)(1)
        g = np.random.default_rng(1)

        def companion(text_of) -> CopyData:
            def encode(corpus):
                return pair.encode_texts([text_of(corpus, i) for i in range(len(corpus))])

            labels = g.integers(0, 2, 48)
            weights = g.uniform(0.2, 3.0, 48).astype(np.float32)
            return CopyData(*encode(task.train), labels, *encode(task.test), train_weights=weights)

        longer = companion(lambda c, i: " ".join(c.text((i + d) % len(c)) for d in range(3)))
        shorter = companion(lambda c, i: " ".join(c.text(i).split()[:2]))
        alone = ens.fit_predict(FitRequest(str(tiny_bert), [mine], [1], 0, "cpu", 2))[0]
        grouped = ens.fit_predict(
            FitRequest(str(tiny_bert), [longer, mine, shorter], [0, 1, 2], 0, "cpu", 2)
        )[1]
        assert grouped.tobytes() == alone.tobytes()
        other_order = ens.fit_predict(FitRequest(str(tiny_bert), [shorter, mine], [2, 1], 0, "cpu", 2))[1]
        assert other_order.tobytes() == alone.tobytes()
    finally:
        torch.set_num_threads(threads)


def test_inputs_of_another_width_and_keep_beta_noise_are_refused(tiny_bert):
    from crowd.train import TrainingInputError
    from crowd.train.bow_encoder import HashedWordEncoder

    ens = learner()
    words = HashedWordEncoder(BOW_LENGTH)
    (a, am), (b, bm) = words.encode_texts(["good film", "bad film"]), words.encode_texts(["film"])
    with pytest.raises(TrainingInputError, match="bow.max_length = 16"):
        ens.fit_predict(
            FitRequest(str(tiny_bert), [CopyData(a, am, np.array([1, 0]), b, bm)], [0], 0, "cpu", 2)
        )
    pair = PairEncoder(words, ens.head.encoder(str(tiny_bert)))
    for name in ("vocab_size", "content_length"):
        with pytest.raises(ValueError, match="wang"):
            getattr(pair, name)
    with pytest.raises(ValueError, match="wang"):
        pair.content(None)


def test_settings_come_from_the_bow_and_head_tables():
    from crowd.config import ConfigError
    from crowd.pipelines.certify import load_certify_config
    from crowd.train import LEARNERS
    from crowd.train.runner import learner_fingerprint

    config = load_certify_config(None, ['model.learner="bow+head"', "bow.C=2.5", "head.epochs=3"])
    ens = config.learner
    assert LEARNERS["bow+head"] is Ensemble and ens == Ensemble(config.bow, config.head)
    run_bow = BagOfWords(C=2.5, nb=True, vectors="glove-6b-50d")  # a run's [bow] defaults (default.toml)
    assert ens.bow == run_bow and ens.head.epochs == 3 and ens.uses_model
    assert ens.copies_per_group == config.head.copies_per_group == 20  # the head's (default.toml)
    assert (ens.max_length, ens.dtype, ens.feature_cache) == (64, "bf16", True)
    assert dataclasses.replace(ens, copies_per_group=1).copies_per_group == 1
    print_ = json.loads(json.dumps(learner_fingerprint(ens)))
    assert print_["learner"] == "Ensemble" and print_["bow"]["C"] == 2.5 and print_["head"]["epochs"] == 3
    from crowd.train.learners.ensemble import (
        EnsembleTrainer,  # built from dataclasses.asdict, as _Learner does
    )

    built = EnsembleTrainer(**dataclasses.asdict(ens))
    assert built.bow == ens.bow and built.head == ens.head and built.copies_per_group == 20
    with pytest.raises(ValueError, match="copies_per_group"):
        Ensemble(copies_per_group=0)
    with pytest.raises(ConfigError, match="learner"):
        load_certify_config(None, ['model.learner="bow+static"'])


def test_textguard_with_bow_and_head_certifies_the_one_word_trigger(tiny_bert, tmp_path):
    from crowd.pipelines.certify import certify_corpus, load_certify_config

    m = 5
    overrides = [
        'method.name="textguard"',
        f"method.groups={m}",
        'model.learner="bow+head"',
        f'model.name="{tiny_bert}"',
        'model.device="cpu"',
        "head.epochs=20",
        "head.lr=0.02",
        "head.max_length=16",
        'head.dtype="fp32"',
        'head.pooling="mean"',
        "bow.max_length=16",
    ]
    config = load_certify_config(None, overrides)
    report = certify_corpus(
        word_group_corpus(m, 300, 60, seed=3, filler=("the", "movie", "was"), prefix="v"),
        config,
        tmp_path,
        progress=False,
    )
    s = report.summary
    assert s["certificate"] == "textguard" and s["attack_budget"] == 1 and s["learner"] == "bow+head"
    assert s["cacc"] > 0.95
    assert s["certified_accuracy_at_budget"] > 0.9
    assert s["certified_accuracy_non_target_at_budget"] > 0.9
    assert s["certified_triggered_accuracy_at_budget"] > 0.9 and s["asr"] < 0.1
    assert s["feature_cache"]["requested"] > 0  # the head's features went through the cache
    from crowd.train import VoteStore

    logits = VoteStore.open(tmp_path / "votes", m).load_all_logits()
    probabilities = np.exp(logits.astype(np.float64))
    seen = ~np.isnan(probabilities).any(-1)  # a group abstains where its sub-text is empty
    np.testing.assert_allclose(probabilities[seen].sum(-1), 1.0, rtol=1e-5)
