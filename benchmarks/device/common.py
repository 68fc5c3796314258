"""Shared by the device workers: rows appended as they finish, the SST-2 words, CROWD-noise copies."""

from __future__ import annotations

import json

import torch

from benchmarks.copies import copy_factory, sst2_words
from benchmarks.device.scales import Scale
from crowd.noise import CrowdNoise
from crowd.paths import cache_dir
from crowd.train import WordPieceEncoder
from crowd.train.models import load_tokenizer


def append_row(path: str, row: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
    print(json.dumps(row, sort_keys=True), flush=True)


def scale_words(scale: Scale):
    """Clean SST-2 at the scale's size as :class:`crowd.methods.Words`, and its test labels."""
    sizes = (scale.max_train, scale.max_test) if scale.max_train else (None, None)  # 0: the whole corpus
    _, words, test_labels = sst2_words(*sizes)
    return words, test_labels


def crowd_copies(scale: Scale, model: str, graph_path: str | None, n: int):
    """``n`` CROWD-noise copies of clean SST-2, train and test noised (:mod:`benchmarks.copies`: the training
    noise as ``crowd certify`` draws it, the test noise from one generator per copy)."""
    from crowd.pipelines.corpus import load_graph  # lazy: gensim, needed by part b only (docs/gpu.md)

    words, test_y = scale_words(scale)
    noise = CrowdNoise(load_graph(graph_path), cache_dir() / "noise", progress=False)
    make_copy = copy_factory(WordPieceEncoder(load_tokenizer(model), scale.max_length), words, noise)
    return [make_copy(j) for j in range(n)], test_y


def sync(dev) -> None:
    """Wait for the device, so a timer around GPU work measures the work."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
