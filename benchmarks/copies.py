"""SST-2 as the feature and device benchmarks train on it: word corpora over one vocabulary, and noisy copies.

The corpora are :class:`crowd.methods.Words` of the clean split, as ``crowd certify`` builds them. The noisy
copies draw copy ``j``'s training noise as :mod:`crowd.methods.synonym` does (``rng(seed, "train-noise", j)``)
but its test noise from one generator for the whole test set, ``rng(seed, "test-noise", j)``: the stream
``crowd certify`` used before the smoothing methods drew test noise per text (:class:`crowd.seeding.TextDraws`).
The committed row of ``bench_features.py`` part b was measured with it (and the device script's part b draws
its copies so), so the scripts keep it instead of asking a method's plan, whose test copies would differ.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from crowd.data import Corpus, load_dataset
from crowd.methods import Words
from crowd.seeding import rng
from crowd.train import CopyData


def sst2_words(n_train: int | None = None, n_test: int | None = None) -> tuple[Corpus, Words, np.ndarray]:
    """The first ``n_train`` / ``n_test`` texts of clean SST-2 (``None``: all) as a corpus, its
    :class:`~crowd.methods.Words` and its test labels."""
    corpus = Corpus.unpoisoned(
        load_dataset("sst2", "train")[:n_train], test=load_dataset("sst2", "test")[:n_test]
    )
    return corpus, Words.of(corpus), np.array([e.label for e in corpus.test])


def copy_factory(encoder, words: Words, noise=None, seed: int = 0) -> Callable[[int], CopyData]:
    """``make_copy(j)``: the training and test words, noised (with ``noise``) as the module docstring says, then
    encoded by ``encoder``."""

    def make_copy(j: int) -> CopyData:
        train = noise.perturb(words.train, rng(seed, "train-noise", j)) if noise else words.train
        test = noise.perturb(words.test, rng(seed, "test-noise", j)) if noise else words.test
        return CopyData(*encoder.encode(train), words.train_labels, *encoder.encode(test))

    return make_copy
