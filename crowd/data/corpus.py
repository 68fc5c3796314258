"""The one record of a corpus: clean splits, what the attack made of them, and the attack's manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crowd.data.example import Example


@dataclass(frozen=True)
class Corpus:
    """A (possibly poisoned) corpus.

    ``train_poisoned`` is what the defender trains on, index-aligned with its clean source
    ``train_clean`` (row ``i`` is the clean row or its poisoned version), so attack budgets are
    measured row by row. ``dev_poison``/``test_poison`` are triggered versions of non-target rows
    (``source_label`` keeps the true label). Without an attack the poisoned splits equal the clean
    ones (train) or are empty (dev, test). ``manifest`` records the attack and its random choices.
    """

    train_clean: tuple[Example, ...]
    train_poisoned: tuple[Example, ...]
    dev_clean: tuple[Example, ...] = ()
    dev_poison: tuple[Example, ...] = ()
    test_clean: tuple[Example, ...] = ()
    test_poison: tuple[Example, ...] = ()
    manifest: dict[str, Any] = field(default_factory=lambda: {"attack": "none"})
    num_labels: int = 2

    @classmethod
    def unpoisoned(cls, train, dev=(), test=(), num_labels: int = 2) -> Corpus:
        """A corpus without an attack: the defender's training set is the clean one."""
        return cls(
            tuple(train), tuple(train), tuple(dev), (), tuple(test), (), {"attack": "none"}, num_labels
        )

    @property
    def train(self) -> tuple[Example, ...]:
        """The training set the defender receives."""
        return self.train_poisoned

    @property
    def test(self) -> tuple[Example, ...]:
        """Clean test texts followed by triggered ones (the order votes are stored in)."""
        return self.test_clean + self.test_poison

    @property
    def poisoned_indices(self) -> list[int]:
        return [i for i, e in enumerate(self.train_poisoned) if e.poisoned]
