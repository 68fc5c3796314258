"""``crowd certify`` as a Python function: data → poison → noisy copies → votes → certificates.

1. Load the corpus (:mod:`crowd.data`), subsample if asked (seeded), poison the
   training set and build the poisoned test set (:mod:`crowd.attacks`), and measure
   the attack budget in every certificate's unit (:mod:`crowd.budget`).
2. Copy ``j`` of the training set and of the test texts is drawn from the noise with
   ``rng(seed, "train-noise", j)`` / ``rng(seed, "test-noise", j)``, encoded to
   wordpiece ids without re-running the tokenizer (:mod:`crowd.train.encode`).
3. One model per copy is trained and predicts its copy of every test text
   (:mod:`crowd.train`); votes are stored per copy, so a run resumes.
4. Votes are turned into certificates (:mod:`crowd.certify`) and the report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crowd.certify_config import CertifyConfig
from crowd.config import to_dict
from crowd.data import Example, load_dataset
from crowd.seeding import rng
from crowd.text import WordCorpus


@dataclass(frozen=True)
class PreparedData:
    """The training set the defender receives (possibly poisoned) and the test sets."""

    train: tuple[Example, ...]
    train_clean: tuple[Example, ...]
    test_clean: tuple[Example, ...]
    test_poison: tuple[Example, ...]
    num_labels: int
    poison_manifest: dict

    @property
    def test(self) -> tuple[Example, ...]:
        return self.test_clean + self.test_poison


def subsample(examples: list, limit: int, seed: int, purpose: str) -> list:
    """At most ``limit`` items (0 = all), chosen by ``rng(seed, purpose)``, in their original order."""
    if limit == 0 or limit >= len(examples):
        return examples
    keep = np.sort(rng(seed, purpose).choice(len(examples), size=limit, replace=False))
    return [examples[i] for i in keep]


def load_split(dataset: str, split: str, data_root: str | None) -> list[Example]:
    """``dataset`` is a corpus name (sst2, offenseval, hsol) or a folder of ``{split}.tsv|csv|jsonl`` files."""
    from crowd.data import DATASETS, load_file

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


def prepare_data(config: CertifyConfig, graph=None) -> PreparedData:
    """Load, subsample and poison the corpus named in ``config.data`` / ``config.attack``.

    ``graph`` is the synonym graph the word-substitution attack draws from (``attack.graph``
    takes precedence when set).
    """
    from crowd.attacks import poison_corpus

    d, a = config.data, config.attack
    train = subsample(
        load_split(d.dataset, "train", d.data_root), d.max_train, config.seed, "subsample-train"
    )
    test = subsample(load_split(d.dataset, "test", d.data_root), d.max_test, config.seed, "subsample-test")
    num_labels = check_labels(train, test, d.dataset)
    if a.name == "none":
        return PreparedData(tuple(train), tuple(train), tuple(test), (), num_labels, {"attack": "none"})
    if not 0 <= a.target_label < num_labels:
        raise ValueError(
            f"attack.target_label {a.target_label} is not a label of {d.dataset} (0..{num_labels - 1})"
        )
    attack = attack_from_config(a, d, graph)
    corpus = poison_corpus(attack, train, [], test, seed=config.seed)
    return PreparedData(
        corpus.train_poisoned,
        corpus.train_clean,
        corpus.test_clean,
        corpus.test_poison,
        num_labels,
        corpus.manifest,
    )


def load_graph(path: str | None = None, data_root: str | None = None):
    """The graph saved at ``path`` (``crowd synonyms build --out``), or the cached default graph.

    Loading a saved graph needs numpy only; building the default graph needs gensim and torch.
    """
    from synonyms.graph import SynonymGraph

    if path:
        return SynonymGraph.load(path)
    from crowd.synonym_graph import default_graph

    return default_graph(data_root=data_root)


def attack_from_config(attack, data, graph=None):
    """The attack an :class:`~crowd.certify_config.AttackConfig` describes, for the corpus of ``data``."""
    from crowd.attacks.factory import make_attack

    return make_attack(
        attack.name,
        data.dataset,
        attack.target_label,
        attack.poison_rate,
        attack.variant,
        data=data.data_root,
        num_triggers=attack.num_triggers,
        triggers=attack.triggers,
        paraphrases=attack.paraphrases,
        style=attack.style,
        graph=attack_graph(attack, data, graph),
        num_substitutions=attack.num_substitutions,
        preset=attack.preset,
    )


def attack_graph(attack, data, graph):
    """The graph the word-substitution attack draws from: ``attack.graph``, else ``graph``, else the default."""
    if attack.name != "wordsub":
        return None
    if attack.graph or graph is None:
        return load_graph(attack.graph, data.data_root)
    return graph


def fingerprint(config: CertifyConfig, data: PreparedData) -> str:
    """Hash of everything that determines each copy's votes: data, attack, noise, model, learner, seed.

    The statistics (alpha, selection, simultaneous, max_radius) and N are left out, so a finished run can
    be re-certified with other statistics, or extended with more copies, without retraining. Under DPA, N
    is the number of partitions and so part of every copy's data.
    """
    cfg = to_dict(config)
    cfg["model"].pop("device", None)
    for key in ("alpha", "selection", "n_selection", "simultaneous", "max_radius"):
        cfg.pop(key, None)
    if config.noise.kind != "dpa":
        cfg.pop("n_copies", None)
    h = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode())
    for e in data.train + data.test:
        h.update(f"{e.label}\t{e.text}\n".encode())
    return h.hexdigest()[:16]


CopyFactory = Callable[[int], object]


@dataclass(frozen=True)
class Corpora:
    """Word-level corpora over one shared vocabulary (so the noise is prepared once)."""

    train: WordCorpus
    test: WordCorpus
    train_labels: np.ndarray


def word_corpora(data: PreparedData) -> Corpora:
    train = WordCorpus.from_texts([e.text for e in data.train])
    test = WordCorpus.from_texts([e.text for e in data.test], vocab=train.vocab)
    train = WordCorpus(test.vocab, train.ids, train.offsets)  # same (extended) vocabulary
    return Corpora(train, test, np.asarray([e.label for e in data.train], dtype=np.int64))


def synonym_copy_factory(noise, corpora: Corpora, encoder, seed: int, noise_test: bool) -> CopyFactory:
    """Copy ``j``: synonym noise on every training and test word, then word-piece encoding."""
    from crowd.train import CopyData

    clean_test = encoder.encode(corpora.test) if not noise_test else None

    def make_copy(j: int) -> CopyData:
        train_ids, train_mask = encoder.encode(noise.perturb(corpora.train, rng(seed, "train-noise", j)))
        if noise_test:
            test_ids, test_mask = encoder.encode(noise.perturb(corpora.test, rng(seed, "test-noise", j)))
        else:
            test_ids, test_mask = clean_test
        return CopyData(train_ids, train_mask, corpora.train_labels.copy(), test_ids, test_mask)

    return make_copy


def keep_beta_copy_factory(
    wang, corpora: Corpora, encoder, num_labels: int, seed: int, noise_test: bool
) -> CopyFactory:
    """Copy ``j``: keep-β noise on the fixed-length word-piece coordinates and on the labels.

    ``wang`` is a :class:`crowd.noise.WangNoise`; coordinates are the encoder's
    ``content_length`` word-piece positions between [CLS] and [SEP], PAD-padded.
    """
    from crowd.train import CopyData

    train_content, test_content = encoder.content(corpora.train), encoder.content(corpora.test)

    def make_copy(j: int) -> CopyData:
        g = rng(seed, "train-noise", j)
        train_ids, train_mask = encoder.from_content(wang.train_tokens.perturb(train_content, g))
        labels = wang.labels.perturb(corpora.train_labels, g)
        content = test_content
        if noise_test:
            content = wang.test_tokens.perturb(test_content, rng(seed, "test-noise", j))
        test_ids, test_mask = encoder.from_content(content)
        return CopyData(train_ids, train_mask, labels, test_ids, test_mask)

    return make_copy


def load_certify_config(path: str | None, overrides: list[str] | tuple[str, ...] = ()) -> CertifyConfig:
    """The config in ``path`` (or the built-in default ``crowd/configs/default.toml``) with overrides applied."""
    from importlib.resources import files

    from crowd.config import load_toml

    source = path if path is not None else str(files("crowd") / "configs" / "default.toml")
    return load_toml(CertifyConfig, source, overrides)


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def partition_of(example: Example, n_partitions: int) -> int:
    """DPA's partition of a training example: a hash of its content (label and text), never of its position.

    Inserting, deleting or changing one example therefore moves at most the partitions it leaves and joins.
    """
    digest = hashlib.sha256(f"{example.label}\t{example.text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % n_partitions


def partition_copy_factory(data: PreparedData, corpora: Corpora, encoder, n_partitions: int) -> CopyFactory:
    """Copy ``j``: the training examples of partition ``j`` (no noise), and the test texts as given."""
    from crowd.train import CopyData

    parts = np.array([partition_of(e, n_partitions) for e in data.train])
    empty = sorted(set(range(n_partitions)) - set(parts.tolist()))
    if empty:
        raise ValueError(
            f"n_copies = {n_partitions} partitions of {len(data.train)} training examples leaves partition(s) "
            f"{empty[:5]} empty; use fewer partitions"
        )
    train_ids, train_mask = encoder.encode(corpora.train)
    test_ids, test_mask = encoder.encode(corpora.test)

    def make_copy(j: int) -> CopyData:
        rows = np.flatnonzero(parts == j)
        return CopyData(train_ids[rows], train_mask[rows], corpora.train_labels[rows], test_ids, test_mask)

    return make_copy
