"""Step 1 of every pipeline: load the corpus, subsample it (seeded), poison it, check its labels.

The result is one :class:`crowd.data.Corpus`; ``crowd certify`` and ``crowd defend`` both start here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crowd.data import DATASETS, Corpus, Example, load_dataset, load_file
from crowd.seeding import rng


def subsample(examples: list, limit: int, seed: int, purpose: str) -> list:
    """At most ``limit`` items (0 = all), chosen by ``rng(seed, purpose)``, in their original order."""
    if limit == 0 or limit >= len(examples):
        return examples
    keep = np.sort(rng(seed, purpose).choice(len(examples), size=limit, replace=False))
    return [examples[i] for i in keep]


def load_split(dataset: str, split: str, data_root: str | None) -> list[Example]:
    """``dataset`` is a corpus name (sst2, offenseval, hsol) or a folder of ``{split}.tsv|csv|jsonl`` files."""
    if dataset in DATASETS:
        return load_dataset(dataset, split, data_root=data_root)
    folder = Path(dataset).expanduser()
    if not folder.is_dir():
        raise ValueError(
            f"data.dataset: {dataset!r} is neither a known corpus ({', '.join(sorted(DATASETS))}) "
            "nor a folder of split files"
        )
    for ext in ("tsv", "csv", "jsonl"):
        if (folder / f"{split}.{ext}").exists():
            return load_file(folder / f"{split}.{ext}", labels=None)
    raise FileNotFoundError(f"data.dataset folder {folder} has no {split}.tsv, {split}.csv or {split}.jsonl")


def check_labels(train: Sequence[Example], test: Sequence[Example], name: str = "corpus") -> int:
    """The number of classes; raises before any training if test labels are not all training labels."""
    if not train:
        raise ValueError(f"{name}: the training set is empty")
    labels = sorted({e.label for e in train})
    test_labels = sorted({e.original_label for e in test if e.original_label is not None})
    if not set(test_labels) <= set(labels):
        raise ValueError(f"{name}: test labels {test_labels} are not all among the training labels {labels}")
    return max(labels) + 1


def load_graph(path: str | None = None, data_root: str | None = None):
    """The graph saved at ``path`` (``crowd synonyms build --out``), or the cached default graph."""
    from synonyms.graph import SynonymGraph

    if path:
        return SynonymGraph.load(path)
    from crowd.noise.synonym_graph import default_graph

    return default_graph(data_root=data_root)


def attack_from_config(attack, data, graph=None):
    """The attack an :class:`~crowd.pipelines.config.AttackConfig` describes, for the corpus of ``data``."""
    from crowd.attacks.factory import make_attack

    return make_attack(
        attack.name,
        data.dataset,
        attack.target_label,
        attack.poison_rate,
        attack.variant,
        data=data.data_root,
        num_triggers=attack.num_triggers,
        paraphrases=attack.paraphrases,
        style=attack.style,
        graph=attack_graph(attack, data, graph),
        num_substitutions=attack.num_substitutions,
    )


def attack_graph(attack, data, graph):
    """The graph the word-substitution attack draws from: ``attack.graph``, else ``graph``, else the default."""
    if attack.name != "wordsub":
        return None
    if attack.graph or graph is None:
        return load_graph(attack.graph, data.data_root)
    return graph


def prepare_corpus(data, attack, seed: int, graph=None, dev: bool = False) -> Corpus:
    """Load, subsample and poison the corpus of a ``[data]`` and an ``[attack]`` section.

    ``graph`` is the synonym graph the word-substitution attack draws from (``attack.graph`` takes
    precedence when set); ``dev`` also loads the dev split (``crowd defend`` fits detectors on it).
    """
    from crowd.attacks import poison_corpus

    def split(name: str, limit: int) -> list[Example]:
        return subsample(load_split(data.dataset, name, data.data_root), limit, seed, f"subsample-{name}")

    train, test = split("train", data.max_train), split("test", data.max_test)
    dev_rows = split("dev", data.max_dev) if dev else []
    num_labels = check_labels(train, test, data.dataset)
    if attack.name == "none":
        return Corpus.unpoisoned(train, dev_rows, test, num_labels)
    if not 0 <= attack.target_label < num_labels:
        raise ValueError(
            f"attack.target_label {attack.target_label} is not a label of {data.dataset} (0..{num_labels - 1})"
        )
    corpus = poison_corpus(attack_from_config(attack, data, graph), train, dev_rows, test, seed=seed)
    return dataclasses.replace(corpus, num_labels=num_labels)


def given_corpus(
    train: Sequence[Example],
    test: Sequence[Example],
    test_poison: Sequence[Example] = (),
    train_clean: Sequence[Example] | None = None,
) -> Corpus:
    """A corpus the user holds as example lists; ``train_clean`` (aligned with ``train``) gives the budget."""
    num_labels = check_labels(train, [*test, *test_poison])
    source = tuple(train_clean) if train_clean is not None else tuple(train)
    if len(source) != len(train):
        raise ValueError(
            f"train_clean has {len(source)} examples, train has {len(train)}: they must be aligned"
        )
    manifest = {"attack": "given", "clean_source_known": train_clean is not None}
    return Corpus(source, tuple(train), (), (), tuple(test), tuple(test_poison), manifest, num_labels)
