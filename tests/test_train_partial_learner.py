"""The partial fine-tuning learner: top layers of one model per copy, trained one copy at a time.

Real pieces: the tiny random BERT (2 layers, dropout 0.1, so dropout is exercised), the MiniLM
tokenizer, the toy keyword task and the word-group pipeline.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from crowd.testing.toy_task import word_group_corpus
from crowd.train import CopyData, PartialFineTune
from crowd.train.data import FitRequest

MAX_LENGTH = 32


@pytest.fixture(scope="module")
def encoder(tiny_bert):
    from crowd.train.encode import WordPieceEncoder
    from crowd.train.models import load_tokenizer

    torch.set_num_threads(1)
    return WordPieceEncoder(load_tokenizer(tiny_bert), MAX_LENGTH)


def learner(**settings) -> PartialFineTune:
    values = {"trainable_layers": 1, "lr": 3e-3, "epochs": 2, "batch_size": 8, "max_length": MAX_LENGTH}
    return PartialFineTune(**{**values, "inference_batch_size": 4, **settings})


def fit(tiny_bert, copies, indices, **settings) -> np.ndarray:
    return learner(**settings).fit_predict(FitRequest(str(tiny_bert), copies, indices, 0, "cpu", 2))


def toy_copies(encoder):
    """Copy 1 of the toy task, and companions with 3x longer / 2-word texts, other labels, other sizes."""
    from crowd.testing.toy_task import copy_maker, keyword_task

    task = keyword_task(n_train=40, n_test=12, seed=0)
    subject = copy_maker(task, encoder, flip=0.1, seed=0)(1)
    train, test = task.train.texts(), task.test.texts()
    long = [" ".join(train[(i + d) % len(train)] for d in range(3)) for i in range(len(train))]
    short = [" ".join(t.split()[:2]) for t in train[:30]]
    gen = np.random.default_rng(1)

    def companion(texts, labels, test_texts):
        weights = gen.uniform(0.2, 3.0, size=len(labels)).astype(np.float32)
        return CopyData(*encoder.encode_texts(texts), labels, *encoder.encode_texts(test_texts), weights)

    longer = companion(long, 1 - task.train_labels, [t + " " + t for t in test])
    shorter = companion(short, gen.integers(0, 2, 30), [t.split()[0] for t in test])
    return subject, longer, shorter


def test_learns_the_keyword(tiny_bert, encoder):
    from crowd.testing.toy_task import copy_maker, keyword_task

    task = keyword_task(n_train=200, n_test=100, seed=0)
    make = copy_maker(task, encoder, flip=0.0, seed=0)
    logits = fit(tiny_bert, [make(0), make(1)], [0, 1], epochs=5, batch_size=16)
    assert logits.shape == (2, 100, 2) and logits.dtype == np.float32
    accuracy = (logits.argmax(-1) == task.test_labels[None]).mean(axis=1)
    assert accuracy.min() > 0.85, accuracy


def test_copy_alone_equals_copy_in_any_group(tiny_bert, encoder):
    """Bit for bit on the CPU, whatever the other copies' texts, widths, labels, weights and sizes."""
    subject, longer, shorter = toy_copies(encoder)
    width = lambda c: c.train_mask.sum(1)  # noqa: E731
    assert width(longer).min() > width(subject).max() > width(shorter).max()
    alone = fit(tiny_bert, [subject], [1])[0]
    assert alone.shape == (12, 2) and np.isfinite(alone).all()
    for group, indices, at in (
        ([longer, subject, shorter], [0, 1, 2], 1),
        ([shorter, longer, subject], [5, 9, 1], 2),
        ([subject, subject], [1, 3], 0),  # the same rows again, another j
    ):
        got = fit(tiny_bert, group, indices)[at]
        assert np.array_equal(got, alone), np.abs(got - alone).max()
    assert not np.array_equal(fit(tiny_bert, [subject], [2])[0], alone)  # (seed, j) matters


def test_unit_weights_are_no_weights(tiny_bert, encoder):
    subject, longer, _ = toy_copies(encoder)
    plain = fit(tiny_bert, [subject, longer], [1, 0])[0]
    ones = dataclasses.replace(subject, train_weights=np.ones(subject.n_train, np.float32))
    assert np.array_equal(fit(tiny_bert, [ones, longer], [1, 0])[0], plain)
    weights = np.where(subject.train_labels == 1, 4.0, 0.25).astype(np.float32)
    weighted = dataclasses.replace(subject, train_weights=weights)
    changed = fit(tiny_bert, [weighted, longer], [1, 0])[0]
    assert not np.array_equal(changed, plain)
    # the heavier class gains: its mean logit margin grows
    assert (changed[:, 1] - changed[:, 0] - (plain[:, 1] - plain[:, 0])).mean() > 0


def test_settings_progress_and_errors(tiny_bert, encoder):
    from crowd.pipelines.certify import load_certify_config
    from crowd.train.data import TrainingInputError

    for field, value in (("trainable_layers", 0), ("lr", 0.0), ("max_length", 2), ("max_grad_norm", 0.0)):
        with pytest.raises(ValueError, match=field):
            PartialFineTune(**{field: value})
    config = load_certify_config(None, ['model.learner="partial"', "partial.trainable_layers=3"])
    assert config.learner == PartialFineTune(trainable_layers=3) and config.learner.uses_model
    subject, _, _ = toy_copies(encoder)
    seen = []
    learner().fit_predict(
        FitRequest(str(tiny_bert), [subject, subject], [0, 1], 0, "cpu", 2), lambda *a: seen.append(a)
    )
    assert seen == [(d, 6) for d in range(1, 7)]  # per copy: its states, then its 2 epochs
    with pytest.raises(TrainingInputError, match="trainable_layers = 3 exceeds the model's 2 layers"):
        fit(tiny_bert, [subject], [0], trainable_layers=3)


def test_textguard_end_to_end(tiny_bert, tmp_path):
    from crowd.pipelines.certify import certify_corpus, load_certify_config

    m = 3
    overrides = [
        'method.name="textguard"',
        f"method.groups={m}",
        'model.learner="partial"',
        f'model.name="{tiny_bert}"',
        'model.device="cpu"',
        "partial.trainable_layers=1",
        "partial.lr=3e-3",
        "partial.epochs=4",
        "partial.batch_size=16",
        "partial.max_length=16",
    ]
    config = load_certify_config(None, overrides)
    report = certify_corpus(word_group_corpus(m, 160, 40), config, tmp_path, progress=False)
    s = report.summary
    assert s["certificate"] == "textguard" and s["attack_budget"] == 1 and s["learner"] == "partial"
    assert s["cacc"] > 0.9 and s["certified_accuracy_non_target_at_budget"] > 0.8
    assert all(sum(c.counts) == m for c in report.clean)  # a vote per word group (none empty)
