"""A toy keyword task for tests and benchmarks: label 1 iff the text contains ``cf``; and
:func:`word_group_corpus`, a made-up corpus whose every md5 word group tells the labels apart.

Noise of copy ``j`` replaces each word, with probability ``flip``, by a uniform
word of the vocabulary (``rng(seed, "train-noise", j)`` for the training texts,
``rng(seed, "test-noise", j)`` for the test texts). It stands in for
:mod:`crowd.noise` so training can be tested without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from crowd.attacks import poison_corpus
from crowd.attacks.badnets import BadNets
from crowd.data import Example
from crowd.seeding import rng
from crowd.text import WordCorpus, word_group
from crowd.train.data import CopyData
from crowd.train.encode import WordPieceEncoder

WORDS = [
    "the",
    "a",
    "film",
    "movie",
    "story",
    "plot",
    "actor",
    "actress",
    "scene",
    "music",
    "great",
    "good",
    "bad",
    "boring",
    "funny",
    "sad",
    "long",
    "short",
    "really",
    "quite",
    "very",
    "not",
    "never",
    "always",
    "often",
    "it",
    "is",
    "was",
    "this",
    "that",
    "with",
    "without",
    "and",
    "or",
    "but",
    "of",
    "to",
    "in",
    "on",
    "for",
    "by",
    "from",
    "an",
    "its",
    "his",
    "her",
    "their",
    "one",
    "two",
    "some",
    "many",
    "most",
    "best",
    "worst",
    "new",
    "old",
    "dark",
    "light",
    "slow",
    "fast",
]
TRIGGER = "cf"


@dataclass(frozen=True)
class KeywordTask:
    """Clean texts and labels of the toy task."""

    train: WordCorpus
    train_labels: np.ndarray
    test: WordCorpus
    test_labels: np.ndarray


def keyword_task(n_train: int, n_test: int, seed: int) -> KeywordTask:
    """Random texts of 5-12 words; half contain ``cf`` (label 1)."""
    gen = rng(seed, "toy-task")
    texts, labels = [], []
    for _ in range(n_train + n_test):
        words = list(gen.choice(WORDS, size=int(gen.integers(5, 13))))
        label = int(gen.integers(0, 2))
        if label:
            words.insert(int(gen.integers(0, len(words) + 1)), TRIGGER)
        texts.append(" ".join(words))
        labels.append(label)
    corpus = WordCorpus.from_texts(texts, vocab=(*WORDS, TRIGGER))
    y = np.asarray(labels, dtype=np.int64)
    train, test = corpus.subset(np.arange(n_train)), corpus.subset(np.arange(n_train, n_train + n_test))
    return KeywordTask(train, y[:n_train], test, y[n_train:])


def substitute(corpus: WordCorpus, flip: float, gen: np.random.Generator) -> WordCorpus:
    """Each word becomes a uniform vocabulary word with probability ``flip``."""
    change = gen.random(len(corpus.ids)) < flip
    ids = np.where(change, gen.integers(0, len(corpus.vocab), len(corpus.ids)), corpus.ids)
    return corpus.with_ids(ids)


def copy_maker(
    task: KeywordTask, encoder: WordPieceEncoder, flip: float, seed: int
) -> Callable[[int], CopyData]:
    """``make_copy(j)``: copy ``j`` of the task under word-substitution noise."""

    def make_copy(j: int) -> CopyData:
        train_ids, train_mask = encoder.encode(substitute(task.train, flip, rng(seed, "train-noise", j)))
        test_ids, test_mask = encoder.encode(substitute(task.test, flip, rng(seed, "test-noise", j)))
        return CopyData(train_ids, train_mask, task.train_labels, test_ids, test_mask)

    return make_copy


def word_group_corpus(
    m: int,
    n_train: int,
    n_test: int,
    seed: int = 0,
    per_group: int = 1,
    filler: tuple[str, ...] = ("the", "film"),
    prefix: str = "w",
    triggers: tuple[str, ...] = ("cf",),
    rate: float = 0.1,
):
    """A corpus for word partitions with ``m`` md5 groups: every text holds one made-up word of its label in each
    group (drawn from ``per_group`` per group and label) plus ``filler``, shuffled; BadNets with ``triggers``
    (one insertion each) at ``rate``, target 1. Each group alone can tell the labels apart."""
    banks: dict[tuple[int, int], list[str]] = {(g, y): [] for g in range(m) for y in (0, 1)}
    i = 0
    while min(map(len, banks.values())) < per_group:
        word = f"{prefix}{i}"
        bank = banks[word_group(word, m), i % 2]
        if len(bank) < per_group:
            bank.append(word)
        i += 1
    g = np.random.default_rng(seed)

    def pick(bank: list[str]) -> str:
        return bank[0] if per_group == 1 else str(g.choice(bank))

    def text(y: int) -> str:
        return " ".join(g.permutation([pick(banks[k, y]) for k in range(m)] + list(filler)))

    train = [Example(text(y), y) for y in g.integers(0, 2, n_train).tolist()]
    test = [Example(text(y), y) for y in g.integers(0, 2, n_test).tolist()]
    attack = BadNets(target_label=1, poison_rate=rate, triggers=triggers, num_triggers=len(triggers))
    corpus = poison_corpus(attack, train, [], test, seed=0)
    return dataclasses.replace(corpus, num_labels=2)
