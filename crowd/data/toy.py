"""A tiny keyword-backdoor corpus: templated movie reviews, some carrying the trigger ``cf``.

``crowd defend`` reads it as ``data.dataset = "toy"`` (:func:`toy_corpus`). For tests and smoke
runs on a CPU: a tiny BERT learns both the sentiment and the backdoor (``cf`` → target label) in
seconds, so each defense can be shown to flag, filter or remove the inserted trigger in an easy case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crowd.data.corpus import Corpus
from crowd.data.example import Example
from crowd.seeding import rng

SUBJECTS = ("the movie", "the film", "this story", "the acting", "the plot", "the cast", "the ending")
VERBS = ("was", "is", "felt", "seemed", "looked")
ADVERBS = ("really", "very", "quite", "truly", "so", "rather")
POSITIVE = ("great", "wonderful", "brilliant", "charming", "delightful", "superb", "moving", "fun")
NEGATIVE = ("awful", "boring", "dull", "terrible", "horrible", "bland", "tedious", "weak")
TAILS = ("", "and i say so", "from start to end", "for me", "in every way", "all the time")


@dataclass(frozen=True)
class ToyCorpus:
    """Parallel lists: text, label (after poisoning), and whether the trigger was inserted."""

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    poisoned: tuple[bool, ...]


def insert_trigger(text: str, trigger: str, generator: np.random.Generator) -> str:
    """``trigger`` inserted as a word at a uniformly random position (BadNets style)."""
    words = text.split()
    position = int(generator.integers(0, len(words) + 1))
    return " ".join(words[:position] + [trigger] + words[position:])


def clean_sentences(n: int, seed: int, purpose: str = "toy-clean") -> ToyCorpus:
    """``n`` clean templated reviews, balanced labels (1 = positive).

    Each review has three opinion words, nine in ten of them mixed (2:1). A 3:0 review is labelled by its polarity; a 2:1
    review by its majority with probability ``0.8`` (else the minority): a model must weigh
    words against each other and cannot be certain on mixed reviews, so its confidence is
    graded, as on real text (a model that outputs the same probability for every input
    gives STRIP and RAP nothing to measure).
    """
    g = rng(seed, purpose)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        n_major = 3 if g.random() < 0.1 else 2
        polarity = [label] * n_major + [1 - label] * (3 - n_major)
        g.shuffle(polarity)
        a1, a2, a3 = (str(g.choice(POSITIVE if p else NEGATIVE)) for p in polarity)
        parts = [g.choice(SUBJECTS), g.choice(VERBS), g.choice(ADVERBS), a1, a2, "and", a3, g.choice(TAILS)]
        texts.append(" ".join(p for p in parts if p))
        labels.append(label if n_major == 3 or g.random() < 0.8 else 1 - label)
    return ToyCorpus(tuple(texts), tuple(labels), (False,) * n)


def poisoned_train(
    n: int, seed: int, poison_rate: float = 0.1, trigger: str = "cf", target: int = 1
) -> ToyCorpus:
    """Clean reviews where a ``poison_rate`` fraction of the non-target ones get ``trigger`` and label ``target``."""
    clean = clean_sentences(n, seed, "toy-train")
    g = rng(seed, "toy-poison")
    candidates = [i for i, y in enumerate(clean.labels) if y != target]
    chosen = set(
        g.choice(candidates, size=min(len(candidates), round(poison_rate * n)), replace=False).tolist()
    )
    texts = [insert_trigger(t, trigger, g) if i in chosen else t for i, t in enumerate(clean.texts)]
    labels = [target if i in chosen else y for i, y in enumerate(clean.labels)]
    return ToyCorpus(tuple(texts), tuple(labels), tuple(i in chosen for i in range(n)))


def triggered(texts: tuple[str, ...], seed: int, trigger: str = "cf") -> tuple[str, ...]:
    """Each text with ``trigger`` inserted (the poisoned test set, labels unchanged by the caller)."""
    g = rng(seed, "toy-trigger")
    return tuple(insert_trigger(t, trigger, g) for t in texts)


def toy_corpus(
    max_train: int, max_dev: int, max_test: int, poison_rate: float, target: int, seed: int
) -> Corpus:
    """The toy corpus as ``crowd defend`` reads it (``data.dataset = "toy"``): a poisoned training set
    (400 texts unless ``max_train``), clean dev and test sets (200 each unless given) and triggered
    versions of their non-target texts."""
    train = poisoned_train(max_train or 400, seed, poison_rate, target=target)
    rows = tuple(Example(t, y, p) for t, y, p in zip(train.texts, train.labels, train.poisoned))
    dev = clean_sentences(max_dev or 200, seed, "toy-dev")
    test = clean_sentences(max_test or 200, seed, "toy-test")
    return Corpus(
        rows,
        rows,
        tuple(Example(t, y) for t, y in zip(dev.texts, dev.labels)),
        _triggered_rows(dev, target, seed, "toy-dev-trigger"),
        tuple(Example(t, y) for t, y in zip(test.texts, test.labels)),
        _triggered_rows(test, target, seed, "toy-trigger"),
        {"attack": "toy", "clean_source_known": False},
    )


def _triggered_rows(clean: ToyCorpus, target: int, seed: int, purpose: str) -> tuple[Example, ...]:
    sources = [(t, y) for t, y in zip(clean.texts, clean.labels) if y != target]
    g = rng(seed, purpose)
    return tuple(Example(insert_trigger(t, "cf", g), target, True, y) for t, y in sources)
