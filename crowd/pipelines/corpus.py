"""Step 1 of every pipeline: load the corpus, subsample it (seeded), poison it, check its labels.

The result is one :class:`crowd.data.Corpus`; ``crowd certify`` and ``crowd defend`` both start here.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

from crowd.attacks import NO_ATTACK, poison_corpus
from crowd.data import (
    DATASETS,
    Corpus,
    DataFormatError,
    Example,
    check_label_set,
    corpus_labels,
    find_split_file,
    load_dataset,
    load_file,
)
from crowd.data.hf import is_hf_folder, load_hf_split
from crowd.data.labels import labels_shown
from crowd.noise.synonym_graph import default_graph
from crowd.pipelines.attack import attack_from_config
from crowd.seeding import rng
from crowd.text import text_length_problem
from synonyms.graph import SynonymGraph


def subsample(examples: list, limit: int, seed: int, purpose: str) -> list:
    """At most ``limit`` items (0 = all), chosen by ``rng(seed, purpose)``, in their original order."""
    if limit == 0 or limit >= len(examples):
        return examples
    keep = np.sort(rng(seed, purpose).choice(len(examples), size=limit, replace=False))
    return [examples[i] for i in keep]


def allowed_labels(dataset: str, labels: Sequence[int] = ()) -> tuple[int, ...]:
    """A known corpus's fixed labels; a user folder's ``labels`` setting, binary (0, 1) when unset."""
    if dataset in DATASETS:
        return corpus_labels(dataset)
    return tuple(labels) or (0, 1)


def load_split(dataset: str, split: str, data_root: str | None, labels: Sequence[int] = ()) -> list[Example]:
    """``dataset`` is a corpus name (sst2, offenseval, hsol), a folder of ``{split}.tsv|csv|jsonl`` files
    (optionally ``.gz``; two files for one split are refused, see :func:`crowd.data.find_split_file`), or a
    ``DatasetDict`` saved by ``save_to_disk`` (:func:`crowd.data.hf.load_hf_split`).

    Every label must be one of :func:`allowed_labels`; the first stray one is an error naming file and line.
    """
    if dataset in DATASETS:
        return check_text_lengths(load_dataset(dataset, split, data_root=data_root), f"{dataset} {split}")
    folder = Path(dataset).expanduser()
    if not folder.is_dir():
        raise ValueError(
            f"data.dataset: {dataset!r} is neither a known corpus ({', '.join(sorted(DATASETS))}) "
            "nor a folder of split files"
        )
    if is_hf_folder(folder):  # saved by datasets' save_to_disk (crowd poison's DIR/hf): datasets reads it
        rows = load_hf_split(folder, split)
        check_label_set(rows, tuple(labels) or None, where=f"{folder} ({split})")
        return check_text_lengths(rows, str(folder))
    path = find_split_file(folder, split)
    rows = load_file(path, labels=None)  # labels checked below: the message says how to allow more
    check_label_set(rows, tuple(labels) or None, where=str(path))
    return check_text_lengths(rows, str(path))


def check_text_lengths(examples: Sequence[Example], where: str) -> list[Example]:
    """``examples`` as a list; ``DataFormatError`` naming the first text over :data:`crowd.text.MAX_TEXT_CHARS`
    (its ``file:line`` when it has one, else ``where`` and its index)."""
    for i, example in enumerate(examples):
        problem = text_length_problem(example.text)
        if problem:
            path, _, line = (example.source or "").rpartition(":")
            if path and line.isdigit():
                raise DataFormatError(path, int(line), problem)
            raise DataFormatError(f"{where}[{i}]", None, problem)
    return list(examples)


def check_labels(
    train: Sequence[Example], test: Sequence[Example], name: str = "corpus", labels: Sequence[int] = ()
) -> int:
    """The number of classes ``K``; raises before any training unless every training label is one of the
    allowed ``0..K-1`` (``labels``, binary when empty), each occurs in training, and test labels are among them."""
    if not train:
        raise ValueError(f"{name}: the training set is empty")
    allowed = check_label_set(train, tuple(labels) or None, where=f"{name} training set", complete=True)
    test_labels = sorted({e.original_label for e in test if e.original_label is not None})
    if not set(test_labels) <= set(allowed):
        raise ValueError(
            f"{name}: test labels {labels_shown(test_labels)} are not all among the allowed labels "
            f"{labels_shown(allowed)}"
        )
    return len(allowed)


def warn_overlap(train: Sequence[Example], test: Sequence[Example], name: str = "corpus") -> int:
    """How many test texts also occur (identical) in the training set; a warning says so when any do.

    Such texts measure memorisation rather than accuracy on unseen texts; they are kept (some corpora share
    short texts between splits), but the user should know before training.
    """
    seen = {e.text for e in train}
    shared = sum(e.text in seen for e in test)
    if shared:
        warnings.warn(
            f"{name}: {shared} of the {len(test)} test texts also occur in the training set (identical text); "
            "their results measure memorisation, not unseen texts",
            stacklevel=2,
        )
    return shared


def load_graph(
    path: str | None = None, data_root: str | None = None, progress: bool = False, stages: bool | None = None
):
    """The graph saved at ``path`` (``crowd synonyms build --out``), or the cached default graph (a build shows
    bars with ``progress`` and stage lines with ``stages``, default: as ``progress``)."""

    if path:
        return SynonymGraph.load(path)
    return default_graph(data_root=data_root, progress=progress, stages=stages)


def prepare_corpus(data, attack, seed: int, graph=None, dev: bool = False) -> Corpus:
    """Load, subsample and poison the corpus of a ``[data]`` and an ``[attack]`` section.

    ``graph`` is the synonym graph the word-substitution attack draws from, or a function that loads it
    (``attack.graph`` takes precedence when set; neither: the default graph); ``dev`` also loads the dev
    split (``crowd defend`` fits detectors on it).
    """

    def split(name: str, limit: int) -> list[Example]:
        rows = load_split(data.dataset, name, data.data_root, data.labels)
        return subsample(rows, limit, seed, f"subsample-{name}")

    train, test = split("train", data.max_train), split("test", data.max_test)
    dev_rows = split("dev", data.max_dev) if dev else []
    num_labels = check_labels(train, test, data.dataset, allowed_labels(data.dataset, data.labels))
    warn_overlap(train, test, data.dataset)
    if attack.name == NO_ATTACK:
        return Corpus.unpoisoned(train, dev_rows, test, num_labels)
    if not 0 <= attack.target_label < num_labels:
        raise ValueError(
            f"attack.target_label {attack.target_label} is not a label of {data.dataset} (0..{num_labels - 1})"
        )
    if graph is None:  # the default graph, loaded only for an attack that needs one and names no folder
        graph = partial(load_graph, None, data.data_root)
    corpus = poison_corpus(attack_from_config(attack, data, graph), train, dev_rows, test, seed=seed)
    return dataclasses.replace(corpus, num_labels=num_labels)


def given_corpus(
    train: Sequence[Example],
    test: Sequence[Example],
    test_poison: Sequence[Example] = (),
    train_clean: Sequence[Example] | None = None,
    labels: Sequence[int] = (),
    test_sources: Sequence[str] | None = None,
) -> Corpus:
    """A corpus the user holds as example lists; ``train_clean`` (aligned with ``train``) and ``test_sources``
    (the clean text of each triggered text, aligned with ``test_poison``) give the budget."""
    for part, examples in (("train", train), ("test", test), ("test_poison", test_poison)):
        check_text_lengths(examples, part)
    num_labels = check_labels(train, [*test, *test_poison], "examples", labels)
    warn_overlap(train if train_clean is None else train_clean, test, "examples")
    source = tuple(train_clean) if train_clean is not None else tuple(train)
    if len(source) != len(train):
        raise ValueError(
            f"train_clean has {len(source)} examples, train has {len(train)}: they must be aligned"
        )
    manifest = {"attack": "given", "clean_source_known": train_clean is not None}
    if test_sources is not None:
        if len(test_sources) != len(test_poison):
            raise ValueError(
                f"test_sources has {len(test_sources)} texts, test_poison has {len(test_poison)}: they must be aligned"
            )
        manifest["test_poison_sources"] = [str(t) for t in test_sources]
    return Corpus(source, tuple(train), (), (), tuple(test), tuple(test_poison), manifest, num_labels)


def reference_corpus(corpus: Corpus) -> Corpus:
    """The attack's reference world: the clean training texts with the attack's labels (flips kept), no trigger.

    Models trained on it and certified on the clean test texts at radius ``T`` hold for every trigger of at
    most ``T`` units that would turn this corpus into a poisoned one (THEORY §4, "reference world"). The
    triggered test texts are left out: they belong to the observed world.
    """
    train = tuple(Example(c.text, p.label) for c, p in zip(corpus.train_clean, corpus.train_poisoned))
    return dataclasses.replace(
        corpus, train_poisoned=train, test_poison=(), manifest={**corpus.manifest, "world": "reference"}
    )
