"""Independence of the models (THEORY.md §3): copy j's logits do not depend on the copies trained beside it.

Copy ``j`` is trained alone (a block of one) and inside blocks whose other copies have longer and
shorter texts, other labels and other loss weights; on the CPU its test logits must be bit-identical.
The tiny random BERT keeps its dropout (0.1), so the full fine-tuning learner exercises dropout too.
``full`` (``grouping="vmap"``) draws a group's dropout at once, so it is held to the same group with
other companions only (docs/training.md, "Independence of the models"); ``full-loop`` to both.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crowd.train.data import FitRequest

MAX_LENGTH = 48
KINDS = ["head", "full", "full-loop", "static"]


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> str:
    """A small GloVe-format table of random vectors over the toy vocabulary (for StaticBag)."""
    from crowd.testing.toy_task import TRIGGER, WORDS

    gen = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("vectors") / "toy.txt"
    lines = [" ".join([w, *(f"{v:.6f}" for v in gen.normal(size=8))]) for w in (*WORDS, TRIGGER)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def learner_and_encoder(kind: str, tiny_bert, vectors: str):
    """``(learner, encoder)`` of ``kind``, small enough to train in about a second."""
    from crowd.train import FullFineTune, HeadOnly, StaticBag
    from crowd.train.encode import WordPieceEncoder
    from crowd.train.models import load_tokenizer
    from crowd.train.static_vectors import StaticEncoder

    torch.set_num_threads(1)
    if kind == "static":
        return StaticBag(vectors=vectors, max_length=MAX_LENGTH, epochs=3, batch_size=8), StaticEncoder(
            vectors, MAX_LENGTH
        )
    encoder = WordPieceEncoder(load_tokenizer(tiny_bert), MAX_LENGTH)
    if kind == "head":
        learner = HeadOnly(
            dtype="fp32",
            lr=1e-2,
            epochs=3,
            batch_size=8,
            max_length=MAX_LENGTH,
            feature_cache=False,  # encode every time: a cache would hand back the block's features
            inference_batch_size=4,  # small batches: where batching changed a row's last bits
        )
    else:
        grouping = "loop" if kind == "full-loop" else "vmap"
        learner = FullFineTune(
            dtype="fp32", lr=1e-3, epochs=1, batch_size=8, max_length=MAX_LENGTH, grouping=grouping
        )
    return learner, encoder


def copies(encoder):
    """Copy 1 of the toy task, and companions with 3x longer texts / 2-word texts, other labels and weights."""
    from crowd.testing.toy_task import copy_maker, keyword_task
    from crowd.train import CopyData

    task = keyword_task(n_train=48, n_test=16, seed=0)
    subject = copy_maker(task, encoder, flip=0.1, seed=0)(1)
    gen = np.random.default_rng(1)

    def companion(texts_of, labels):
        def encode(corpus):
            return encoder.encode_texts([texts_of(corpus, i) for i in range(len(corpus))])

        weights = gen.uniform(0.2, 3.0, size=len(labels)).astype(np.float32)
        return CopyData(*encode(task.train), labels, *encode(task.test), train_weights=weights)

    def longer(corpus, i):
        return " ".join(corpus.text((i + d) % len(corpus)) for d in range(3))

    def shorter(corpus, i):
        return " ".join(corpus.words(i)[:2])

    long = companion(longer, 1 - task.train_labels)
    short = companion(shorter, gen.permutation(task.train_labels))
    return subject, long, short


def fit(learner, tiny_bert, group, indices) -> np.ndarray:
    return learner.fit_predict(FitRequest(str(tiny_bert), group, indices, seed=0, device="cpu", num_labels=2))


@pytest.mark.parametrize("kind", KINDS)
def test_copy_does_not_depend_on_its_companions(kind, tiny_bert, vectors):
    """Same block structure (indices, position), other companions: copy 1's logits are unchanged."""
    learner, encoder = learner_and_encoder(kind, tiny_bert, vectors)
    subject, long, short = copies(encoder)
    assert long.train_mask.sum(1).min() > subject.train_mask.sum(1).max() > short.train_mask.sum(1).max()
    a = fit(learner, tiny_bert, [long, subject, short], [0, 1, 2])[1]
    b = fit(learner, tiny_bert, [short, subject, long], [0, 1, 2])[1]
    assert a.shape == (16, 2) and np.isfinite(a).all()
    assert np.array_equal(a, b), np.abs(a - b).max()


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "full"])
def test_copy_alone_equals_copy_in_blocks(kind, tiny_bert, vectors):
    """A block of one and blocks of other sizes and positions (vmap: see docs/training.md)."""
    learner, encoder = learner_and_encoder(kind, tiny_bert, vectors)
    subject, long, short = copies(encoder)
    alone = fit(learner, tiny_bert, [subject], [1])[0]
    in_block = fit(learner, tiny_bert, [long, subject, short], [0, 1, 2])[1]
    other_block = fit(learner, tiny_bert, [subject, long], [1, 7])[0]
    assert np.array_equal(alone, in_block), np.abs(alone - in_block).max()
    assert np.array_equal(alone, other_block), np.abs(alone - other_block).max()


@pytest.mark.parametrize("kind", KINDS)
def test_unit_weights_are_no_weights(kind, tiny_bert, vectors):
    import dataclasses

    learner, encoder = learner_and_encoder(kind, tiny_bert, vectors)
    subject, long, _ = copies(encoder)
    plain = fit(learner, tiny_bert, [subject, long], [1, 0])[0]
    ones = dataclasses.replace(subject, train_weights=np.ones(subject.n_train, np.float32))
    assert np.array_equal(fit(learner, tiny_bert, [ones, long], [1, 0])[0], plain)
    weights = np.where(subject.train_labels == 1, 4.0, 0.25).astype(np.float32)
    weighted = dataclasses.replace(subject, train_weights=weights)
    changed = fit(learner, tiny_bert, [weighted, long], [1, 0])[0]
    assert not np.array_equal(changed, plain)
    # the heavier class gains: its mean logit margin grows
    margin = changed[:, 1] - changed[:, 0] - (plain[:, 1] - plain[:, 0])
    assert margin.mean() > 0


@pytest.mark.parametrize("pooling", ["mean", "pooler"])
def test_frozen_features_of_a_row_do_not_depend_on_its_batch(tiny_bert, pooling):
    """On the CPU a row is encoded in a fixed-shape batch: alone, or at any position beside any rows of its
    width, its features are the same bits."""
    import torch

    from crowd.train.common import load_model
    from crowd.train.frozen import CPU_ROWS, encode_rows

    encoder = load_model(str(tiny_bert), 2, torch.device("cpu")).base_model.eval()
    g = np.random.default_rng(0)
    width, n = 9, 2 * CPU_ROWS + 5
    ids = g.integers(5, 90, size=(n, width))
    mask = np.ones_like(ids)
    mask[n // 2 :, 6:] = 0  # two attended widths
    alone = encode_rows(encoder, ids[:1], mask[:1], torch.device("cpu"), pooling, "fp32", 64)[0]
    for _ in range(4):
        order = g.permutation(n)
        feats = encode_rows(encoder, ids[order], mask[order], torch.device("cpu"), pooling, "fp32", 64)
        np.testing.assert_array_equal(feats[np.flatnonzero(order == 0)[0]], alone)
