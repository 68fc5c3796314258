"""Learners on the toy keyword task ("cf" -> label 1) with the tiny random BERT, on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from crowd.train.data import FitRequest


@pytest.fixture(scope="module")
def toy(tiny_bert):
    from crowd.testing.toy_task import copy_maker, keyword_task
    from crowd.train.encode import WordPieceEncoder
    from crowd.train.models import load_tokenizer

    torch.set_num_threads(1)
    task = keyword_task(n_train=200, n_test=60, seed=0)
    make_copy = copy_maker(task, WordPieceEncoder(load_tokenizer(tiny_bert), 24), flip=0.05, seed=0)
    return task, [make_copy(j) for j in range(3)]


def votes_of(logits: np.ndarray) -> np.ndarray:
    """Learners return logits ``(K, n_test, C)``; a vote is their argmax (ties to the smallest class)."""
    assert logits.ndim == 3 and logits.dtype == np.float32
    return logits.argmax(-1).astype(np.int32)


def accuracy(votes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return (votes == labels[None, :]).mean(axis=1)


def test_head_only_learns_keyword(tiny_bert, toy):
    from crowd.train import HeadOnly

    task, copies = toy
    learner = HeadOnly(dtype="fp32", pooling="mean", lr=1e-2, epochs=10)
    votes = votes_of(
        learner.fit_predict(FitRequest(str(tiny_bert), copies, [0, 1, 2], seed=0, device="cpu", num_labels=2))
    )
    assert votes.shape == (3, 60) and votes.dtype == np.int32
    assert accuracy(votes, task.test_labels).min() > 0.7
    again = votes_of(
        learner.fit_predict(FitRequest(str(tiny_bert), copies, [0, 1, 2], seed=0, device="cpu", num_labels=2))
    )
    np.testing.assert_array_equal(votes, again)


def test_head_only_copy_does_not_depend_on_its_group(tiny_bert, toy):
    from crowd.train import HeadOnly

    _, copies = toy
    learner = HeadOnly(dtype="fp32", pooling="cls", lr=1e-2, epochs=3)
    grouped = votes_of(
        learner.fit_predict(FitRequest(str(tiny_bert), copies, [0, 1, 2], seed=0, device="cpu", num_labels=2))
    )
    alone = votes_of(
        learner.fit_predict(FitRequest(str(tiny_bert), copies[1:2], [1], seed=0, device="cpu", num_labels=2))
    )
    np.testing.assert_array_equal(grouped[1], alone[0])


def test_full_fine_tune_learns_keyword(tiny_bert, toy):
    from crowd.train import FullFineTune

    task, copies = toy
    learner = FullFineTune(dtype="fp32", lr=2e-3, epochs=4, batch_size=8)
    votes = votes_of(
        learner.fit_predict(
            FitRequest(str(tiny_bert), copies[:2], [0, 1], seed=0, device="cpu", num_labels=2)
        )
    )
    assert votes.shape == (2, 60)
    assert accuracy(votes, task.test_labels).min() > 0.8


def test_naive_baseline_loop_learns_keyword_and_repeats_itself(tiny_bert, toy):
    """The benchmarks' per-copy baseline (bench_train.py, the device script's part b)."""
    from benchmarks.naive import naive_fit_predict

    task, copies = toy
    votes = naive_fit_predict(
        str(tiny_bert), copies[:2], 4, "fp32", torch.device("cpu"), batch_size=8, lr=2e-3
    )
    assert votes.shape == (2, 60)
    assert accuracy(votes, task.test_labels).min() > 0.8
    again = naive_fit_predict(
        str(tiny_bert), copies[:1], 4, "fp32", torch.device("cpu"), batch_size=8, lr=2e-3
    )
    assert (again == votes[:1]).all()  # copy j is seeded with j


def test_vmap_and_loop_grouping_agree(tiny_bert, toy, tmp_path):
    """Without dropout the two groupings are the same maths: vmap pads rows to max_length, loop trims them, so
    the logits agree up to float rounding (with dropout their masks are drawn differently)."""
    import json
    import shutil

    from crowd.train import FullFineTune

    bert = Path(shutil.copytree(tiny_bert, tmp_path / "bert"))
    config = json.loads((bert / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (bert / "config.json").write_text(json.dumps(config))
    _, copies = toy
    logits = {}
    for grouping in ("vmap", "loop"):
        learner = FullFineTune(dtype="fp32", lr=3e-3, epochs=1, batch_size=32, grouping=grouping)
        logits[grouping] = learner.fit_predict(FitRequest(str(bert), copies[:2], [0, 1], 0, "cpu", 2))
    np.testing.assert_allclose(logits["vmap"], logits["loop"], atol=1e-4)


def test_label_outside_num_labels_is_rejected(tiny_bert, toy):
    from crowd.train import CopyData, HeadOnly, TrainingInputError

    _, copies = toy
    c = copies[0]
    bad = CopyData(c.train_ids, c.train_mask, c.train_labels + 1, c.test_ids, c.test_mask)
    with pytest.raises(TrainingInputError, match="num_labels=2"):
        HeadOnly().fit_predict(FitRequest(str(tiny_bert), [bad], [0], seed=0, device="cpu", num_labels=2))
