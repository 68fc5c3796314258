"""Shared by the device workers: rows appended as they finish, the SST-2 words, CROWD-noise copies."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.device.scales import Scale


def append_row(path: str, row: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
    print(json.dumps(row, sort_keys=True), flush=True)


def sst2_words(scale: Scale):
    """Clean SST-2 as word corpora over one vocabulary (as :class:`crowd.methods.Words` builds them)."""
    from crowd.data import load_dataset
    from crowd.text import WordCorpus

    train, test = load_dataset("sst2", "train"), load_dataset("sst2", "test")
    if scale.max_train:
        train, test = train[: scale.max_train], test[: scale.max_test]
    train_words = WordCorpus.from_texts([e.text for e in train])
    test_words = WordCorpus.from_texts([e.text for e in test], vocab=train_words.vocab)
    train_words = WordCorpus(test_words.vocab, train_words.ids, train_words.offsets)
    labels = np.asarray([e.label for e in train]), np.asarray([e.label for e in test])
    return train_words, test_words, labels


def crowd_copies(scale: Scale, model: str, graph_path: str | None, n: int):
    """``n`` CROWD-noise copies of clean SST-2 (train and test noised, seeds as ``crowd certify``)."""
    from crowd.noise import CrowdNoise
    from crowd.paths import cache_dir
    from crowd.pipelines.corpus import load_graph
    from crowd.seeding import rng
    from crowd.train import CopyData, WordPieceEncoder
    from crowd.train.models import load_tokenizer

    train, test, (train_y, test_y) = sst2_words(scale)
    noise = CrowdNoise(load_graph(graph_path), cache_dir() / "noise", progress=False)
    encoder = WordPieceEncoder(load_tokenizer(model), scale.max_length)
    copies = []
    for j in range(n):
        train_ids, train_mask = encoder.encode(noise.perturb(train, rng(0, "train-noise", j)))
        test_ids, test_mask = encoder.encode(noise.perturb(test, rng(0, "test-noise", j)))
        copies.append(CopyData(train_ids, train_mask, train_y.copy(), test_ids, test_mask))
    return copies, test_y


def sync(dev) -> None:
    """Wait for the device, so a timer around GPU work measures the work."""
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
