"""HeadOnly with the feature cache: same features and byte-identical logits cold, warm, and without it."""

from __future__ import annotations

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
    task = keyword_task(n_train=120, n_test=40, seed=1)
    make_copy = copy_maker(task, WordPieceEncoder(load_tokenizer(tiny_bert), 24), flip=0.05, seed=0)
    return task, [make_copy(j) for j in range(3)]


def frozen(tiny_bert, root):
    from crowd.train.feature_cache import FeatureCache
    from crowd.train.frozen import FrozenFeatures

    cache = FeatureCache(root) if root is not None else None
    return FrozenFeatures(str(tiny_bert), 2, torch.device("cpu"), "mean", "fp32", 24, 64, cache)


def test_cached_features_equal_recomputed(tiny_bert, toy, tmp_path):
    _, copies = toy
    ids, mask = copies[0].train_ids, copies[0].train_mask
    stored = frozen(tiny_bert, tmp_path)(ids, mask)
    read_back = frozen(tiny_bert, tmp_path)(ids, mask)
    recomputed = frozen(tiny_bert, None).compute(ids, mask)
    np.testing.assert_array_equal(read_back, stored)
    np.testing.assert_array_equal(recomputed, stored)


def test_cold_and_warm_cache_give_identical_logits(tiny_bert, toy, tmp_path, monkeypatch):
    from crowd.train import HeadOnly
    from crowd.train import feature_cache as fc
    from crowd.train import frozen as frozen_module

    _, copies = toy
    monkeypatch.setenv(fc.CACHE_ENV, str(tmp_path / "features"))
    learner = HeadOnly(dtype="fp32", pooling="mean", lr=1e-2, epochs=3, max_length=24)
    off = HeadOnly(dtype="fp32", pooling="mean", lr=1e-2, epochs=3, max_length=24, feature_cache=False)
    fc.reset_cache_stats()
    cold = learner.fit_predict(
        FitRequest(str(tiny_bert), copies, [0, 1, 2], seed=0, device="cpu", num_labels=2)
    )
    assert fc.cache_stats().hits == 0 and fc.cache_stats().written > 0

    def no_encoder(*args, **kwargs):
        raise AssertionError("a warm cache must not load the encoder")

    monkeypatch.setattr(frozen_module, "load_model", no_encoder)
    warm = learner.fit_predict(
        FitRequest(str(tiny_bert), copies, [0, 1, 2], seed=0, device="cpu", num_labels=2)
    )
    assert cold.shape == (3, 40, 2) and cold.dtype == np.float32
    assert cold.tobytes() == warm.tobytes()
    assert fc.cache_stats().hit_rate == pytest.approx(0.5)
    monkeypatch.undo()
    uncached = off.fit_predict(
        FitRequest(str(tiny_bert), copies, [0, 1, 2], seed=0, device="cpu", num_labels=2)
    )
    assert uncached.tobytes() == cold.tobytes()  # same rows encoded the same way


def test_cache_is_shared_across_groups(tiny_bert, toy, tmp_path, monkeypatch):
    from crowd.train import HeadOnly
    from crowd.train import feature_cache as fc

    _, copies = toy
    monkeypatch.setenv(fc.CACHE_ENV, str(tmp_path))
    learner = HeadOnly(dtype="fp32", pooling="cls", lr=1e-2, epochs=2, max_length=24)
    learner.fit_predict(FitRequest(str(tiny_bert), copies[:2], [0, 1], seed=0, device="cpu", num_labels=2))
    fc.reset_cache_stats()
    learner.fit_predict(FitRequest(str(tiny_bert), copies[2:], [2], seed=0, device="cpu", num_labels=2))
    stats = fc.cache_stats()

    def seen(cs):
        return {d.tobytes() for c in cs for d in fc.row_digests(c.train_ids, c.train_mask)} | {
            d.tobytes() for c in cs for d in fc.row_digests(c.test_ids, c.test_mask)
        }

    new, old = seen(copies[2:]), seen(copies[:2])
    assert stats.requested == len(new) and stats.hits == len(new & old) > 0  # rows unchanged by noise
