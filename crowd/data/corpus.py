"""The one record of a corpus: clean splits, what the attack made of them, and the attack's manifest."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crowd.data.example import Example
from crowd.data.hf import HF_SPLITS, examples_from_dataset, examples_to_dataset, hf_datasets, load_hf_folder


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

    def to_hf(self, label_names: Sequence[str] | None = None):
        """This corpus as a ``datasets.DatasetDict`` of :data:`~crowd.data.hf.HF_SPLITS`: ``train`` (the
        poisoned training set, in the clean order), ``dev_clean``, ``dev_poison``, ``test_clean``,
        ``test_poison``; ``label_names`` name the ``ClassLabel`` (default ``"0".."K-1"``)."""
        rows = {
            "train": self.train_poisoned,
            "dev_clean": self.dev_clean,
            "dev_poison": self.dev_poison,
            "test_clean": self.test_clean,
            "test_poison": self.test_poison,
        }
        return hf_datasets().DatasetDict(
            {name: examples_to_dataset(rows[name], self.num_labels, label_names) for name in HF_SPLITS}
        )

    @classmethod
    def from_hf(
        cls,
        dataset_dict,
        text_column: str = "text",
        label_column: str = "label",
        num_labels: int | None = None,
    ) -> Corpus:
        """A corpus from a ``DatasetDict`` of :meth:`to_hf`'s splits (only ``train`` required), or the folder
        ``save_to_disk`` wrote (``crowd poison``'s ``DIR/hf``).

        The clean source of the poisoned training rows is not in the format: ``train_clean`` is the training
        set as given and the manifest says the clean source is unknown (no attack budget). ``num_labels``: the
        ``ClassLabel``'s number of classes, else the largest label + 1.
        """
        if isinstance(dataset_dict, str | os.PathLike):
            dataset_dict = load_hf_folder(dataset_dict)
        unknown = sorted(set(dataset_dict) - set(HF_SPLITS))
        if "train" not in dataset_dict or unknown:
            raise ValueError(
                f"expected the splits {list(HF_SPLITS)} (train required), got {sorted(dataset_dict)}"
                + (f"; unknown: {unknown}" if unknown else "")
            )
        split = {
            name: tuple(examples_from_dataset(dataset_dict[name], text_column, label_column, name))
            if name in dataset_dict
            else ()
            for name in HF_SPLITS
        }
        if num_labels is None:
            classes = getattr(dataset_dict["train"].features[label_column], "num_classes", None)
            num_labels = classes or max(2, 1 + max(e.label for part in split.values() for e in part))
        manifest = {"attack": "given", "clean_source_known": False}
        train, dev_clean, dev_poison, test_clean, test_poison = (split[name] for name in HF_SPLITS)
        return cls(train, train, dev_clean, dev_poison, test_clean, test_poison, manifest, num_labels)
