"""Named corpora: SST-2, OffensEval (OLID subtask A) and HSOL, from the data root or the hub.

Local files (relative to the data root, see :mod:`crowd.paths`):

==========  =====================================  ========================  ===================
name        folder                                 format                    split sizes
==========  =====================================  ========================  ===================
sst2        ``sst2/clean_hiddenkiller/``           TSV, CRLF, ``-lrb-``      6920 / 872 / 1821
offenseval  ``offenseval/clean_hiddenkiller/``     TSV, spaces round tab     11915 / 1323 / 859
hsol        ``hsol/clean_openbackdoor_layout/``    TSV, CSV-quoted fields    5823 / 2485 / 2485
==========  =====================================  ========================  ===================

Labels: SST-2 1 = positive; OffensEval 1 = offensive; HSOL 1 = hate/offensive.

When no data root is configured, :func:`load_dataset` falls back to the Hugging
Face hub (``datasets`` is imported lazily, only then):
SST-2 from ``SetFit/sst2`` (the same 6920/872/1821 binary split), OffensEval from
``tweet_eval``/``offensive`` (OLID subtask A as re-split by TweetEval:
11916/1324/860) and HSOL from ``tdavidson/hate_speech_offensive`` (the full
24,783-tweet corpus, ``train`` only, classes mapped by ``DAVIDSON_BINARY``;
OpenBackdoor's balanced subset is not on the hub).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from crowd.data.example import Example
from crowd.data.hf import hf_datasets
from crowd.data.loader import DAVIDSON_BINARY, LoadResult, check_label_sets, read_file
from crowd.data.normalize import DEFAULT, Normalization
from crowd.paths import data_root as _data_root

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class DatasetSpec:
    folder: str
    quoting: str
    hub_name: str
    hub_config: str | None
    hub_splits: tuple[str | None, str | None, str | None]
    hub_text: str
    hub_label: str
    labels: tuple[int, ...] = (0, 1)
    label_names: tuple[str, ...] | None = None  # of labels 0..K-1: the ClassLabel names of Dataset copies


DATASETS: dict[str, DatasetSpec] = {
    "sst2": DatasetSpec(
        "sst2/clean_hiddenkiller",
        "none",
        "SetFit/sst2",
        None,
        ("train", "validation", "test"),
        "text",
        "label",
        label_names=("negative", "positive"),
    ),
    "offenseval": DatasetSpec(
        "offenseval/clean_hiddenkiller",
        "none",
        "tweet_eval",
        "offensive",
        ("train", "validation", "test"),
        "text",
        "label",
        label_names=("not offensive", "offensive"),
    ),
    "hsol": DatasetSpec(
        "hsol/clean_openbackdoor_layout",
        "csv",
        "tdavidson/hate_speech_offensive",
        None,
        ("train", None, None),
        "tweet",
        "class",
        label_names=("neither", "hate or offensive"),
    ),
}


def corpus_labels(name: str) -> tuple[int, ...]:
    """The fixed label set of a known corpus (all three are binary)."""
    return _spec(name).labels


def corpus_label_names(name: str) -> tuple[str, ...] | None:
    """The names of a known corpus's labels (``None`` for anything else, e.g. a folder of user files)."""
    return DATASETS[name].label_names if name in DATASETS else None


def dataset_file(name: str, split: str, root: Path) -> Path:
    """The local file of ``name``/``split`` under ``root`` (``.tsv`` or ``.tsv.gz``)."""
    spec = _spec(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    base = root / spec.folder / f"{split}.tsv"
    found = [c for c in (base, base.with_name(base.name + ".gz")) if os.path.lexists(c)]
    if len(found) == 2:
        raise ValueError(f"{name} {split}: both {found[0]} and {found[1].name} exist; keep one")
    if found:
        return found[0]
    raise FileNotFoundError(f"{name} {split}: expected {base} (or {base.name}.gz) under the data root")


def read_dataset(
    name: str,
    split: str,
    data_root: str | os.PathLike[str] | None = None,
    normalize: Normalization = DEFAULT,
    errors: str = "raise",
) -> LoadResult:
    """Read a named split from the data root, returning examples and the :class:`LoadReport`."""
    root = _data_root(data_root)
    if root is None:
        raise FileNotFoundError("no data root configured (pass data_root or set CROWD_DATA)")
    path = dataset_file(name, split, root)
    spec = _spec(name)
    return read_file(
        path, format="tsv", quoting=spec.quoting, labels=spec.labels, normalize=normalize, errors=errors
    )


def load_dataset(
    name: str,
    split: str,
    data_root: str | os.PathLike[str] | None = None,
    normalize: Normalization = DEFAULT,
) -> list[Example]:
    """The ``split`` ("train", "dev", "test") of corpus ``name`` ("sst2", "offenseval", "hsol").

    Read from the data root (``data_root`` or ``$CROWD_DATA``); only when neither
    is set, from the hub (needs ``pip install datasets`` and a network). Texts are
    normalised by ``normalize`` (see :mod:`crowd.data.normalize`). Bad rows raise.
    """
    if _data_root(data_root) is None:
        return load_from_hub(name, split, normalize)
    return list(read_dataset(name, split, data_root, normalize).examples)


def load_splits(
    paths: dict[str, str | os.PathLike[str]],
    format: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    quoting: str = "none",
    labels: Collection[int] | None = (0, 1),
    normalize: Normalization = DEFAULT,
) -> dict[str, list[Example]]:
    """User files by split name; raises if the splits' label sets differ."""
    out = {
        split: list(
            read_file(
                path, format, text_column, label_column, None, quoting, labels, None, normalize
            ).examples
        )
        for split, path in paths.items()
    }
    check_label_sets(out, {k: str(v) for k, v in paths.items()})
    return out


def load_from_hub(name: str, split: str, normalize: Normalization = DEFAULT) -> list[Example]:
    """Download ``name``/``split`` with the ``datasets`` library (imported on first use)."""
    spec = _spec(name)
    hub_split = spec.hub_splits[SPLITS.index(split)] if split in SPLITS else None
    if hub_split is None:
        raise ValueError(f"{name}: the hub copy ({spec.hub_name}) has no {split!r} split; use local files")
    try:
        datasets = hf_datasets()
    except ImportError as e:
        raise ImportError(
            "no data root configured and the 'datasets' package is not installed: "
            "set CROWD_DATA (or --data) to a local data folder, or pip install datasets"
        ) from e
    table = datasets.load_dataset(spec.hub_name, spec.hub_config, split=hub_split)
    return examples_from_records(table[spec.hub_text], table[spec.hub_label], name, normalize)


def examples_from_records(
    texts: list[str], labels: list[int], name: str, normalize: Normalization = DEFAULT
) -> list[Example]:
    """Examples from parallel hub columns (HSOL classes mapped to the binary label)."""
    out = []
    for i, (text, label) in enumerate(zip(texts, labels)):
        value = DAVIDSON_BINARY[str(label)] if name == "hsol" else int(label)
        clean = normalize(text)
        if not clean.strip():
            raise ValueError(f"{name} (hub) row {i}: empty text")
        out.append(Example(clean, value))
    return out


def _spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[name]
