"""Corpora and examples in the Hugging Face ``datasets`` format, both ways.

Out: :meth:`crowd.data.Corpus.to_hf` makes a :class:`datasets.DatasetDict` with the splits :data:`HF_SPLITS`
(``train`` is the training set the defender receives, poisoned rows flagged) whose every split is
:func:`examples_to_dataset`'s, with the columns :data:`COLUMNS` (``label`` a ``ClassLabel``, with the corpus's
label names where known); :func:`hf_files` gives the bytes ``save_to_disk`` writes for it, which
``crowd poison`` writes under ``DIR/hf/``.

In: :func:`examples_from_dataset` reads a :class:`datasets.Dataset` with a text and a label column (names
configurable) as :class:`~crowd.data.Example` records, :meth:`crowd.data.Corpus.from_hf` a ``DatasetDict`` of
the splits above, :func:`load_hf_folder` a folder written by ``save_to_disk``.

``datasets`` is imported here only when one of these functions runs; :func:`is_dataset` never imports it (a
process that has not imported ``datasets`` holds no ``Dataset``), so code that accepts either a list or a
``Dataset`` costs nothing when given a list.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crowd.data.example import Example
from crowd.io import read_jsonl
from crowd.report import read_run

HF_SPLITS = ("train", "dev_clean", "dev_poison", "test_clean", "test_poison")
COLUMNS = ("text", "label", "poisoned", "source_label")
HF_DIR = "hf"  # the DatasetDict's folder inside a ``crowd poison`` output folder


def hf_datasets():
    """The ``datasets`` package, imported on first use (a run that touches no Dataset never imports it)."""
    import datasets  # lazy: only when a Dataset is read, written or converted

    return datasets


def is_dataset(obj: Any) -> bool:
    """Whether ``obj`` is a :class:`datasets.Dataset` (without importing ``datasets``)."""
    module = sys.modules.get("datasets")
    return module is not None and isinstance(obj, module.Dataset)


def is_dataset_dict(obj: Any) -> bool:
    """Whether ``obj`` is a :class:`datasets.DatasetDict` (without importing ``datasets``)."""
    module = sys.modules.get("datasets")
    return module is not None and isinstance(obj, module.DatasetDict)


def is_hf_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder written by ``save_to_disk`` (a ``DatasetDict`` or a ``Dataset``)."""
    folder = Path(path)
    return (folder / "dataset_dict.json").is_file() or (
        (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()
    )


def load_hf_folder(path: str | os.PathLike[str]):
    """The ``Dataset`` or ``DatasetDict`` saved in ``path`` (``datasets.load_from_disk``)."""
    datasets = hf_datasets()

    if not is_hf_folder(path):
        raise ValueError(f"{path}: not a folder written by datasets' save_to_disk (no dataset_dict.json)")
    return datasets.load_from_disk(str(path))


def text_list(texts: Any, text_column: str = "text", where: str = "texts") -> list:
    """``texts`` as a list: a ``Dataset``'s ``text_column``, else the items as given."""
    if is_dataset(texts):
        _check_columns(texts, (text_column,), where)
        return list(texts[text_column])
    return list(texts)


def label_list(labels: Any, label_column: str = "label", where: str = "labels") -> list | None:
    """``labels`` as a list (``None`` stays ``None``): a ``Dataset``'s ``label_column``, else the items."""
    if labels is None:
        return None
    if is_dataset(labels):
        _check_columns(labels, (label_column,), where)
        return list(labels[label_column])
    return list(labels)


def examples_from_dataset(
    dataset: Any, text_column: str = "text", label_column: str = "label", where: str = "dataset"
) -> list[Example]:
    """The rows of ``dataset`` as examples; ``poisoned`` and ``source_label`` columns are read when present.

    A label must be an integer class (a ``ClassLabel`` column is one); a string label is refused with the
    labels the column should hold. ``where`` names the argument in errors.
    """
    _check_columns(dataset, (text_column, label_column), where)
    names = dataset.column_names
    feature = dataset.features[label_column]
    columns = [dataset[text_column], dataset[label_column]]
    columns += [dataset[c] if c in names else [None] * len(dataset) for c in ("poisoned", "source_label")]
    out = []
    for i, (text, label, poisoned, source_label) in enumerate(zip(*columns)):
        if not isinstance(text, str):
            raise TypeError(f"{where}[{i}][{text_column!r}]: expected a string, got {type(text).__name__}")
        label = _int_label(label, f"{where}[{i}][{label_column!r}]", feature)
        if source_label is not None:
            source_label = _int_label(source_label, f"{where}[{i}]['source_label']", None)
        out.append(Example(text, label, bool(poisoned), source_label))
    return out


def _int_label(value: Any, where: str, feature: Any) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        names = getattr(feature, "names", None)
        hint = f" (the column's classes: {names})" if names else ""
        raise TypeError(
            f"{where}: label {value!r} is not an integer class; labels are 0..K-1{hint} "
            "(a column of strings: map them first, e.g. dataset.class_encode_column(...))"
        )
    return int(value)


def _check_columns(dataset: Any, wanted: Sequence[str], where: str) -> None:
    missing = [c for c in wanted if c not in dataset.column_names]
    if missing:
        raise ValueError(
            f"{where}: no column {missing[0]!r}; the dataset has {dataset.column_names} "
            "(name the columns with text_column= and label_column=)"
        )


def features(num_labels: int, label_names: Sequence[str] | None = None):
    """The columns of :meth:`Corpus.to_hf`: ``label`` a ``ClassLabel`` (``label_names`` or ``"0".."K-1"``)."""
    datasets = hf_datasets()

    if label_names is not None and len(label_names) != num_labels:
        raise ValueError(f"{len(label_names)} label names for {num_labels} labels: {list(label_names)}")
    label = (
        datasets.ClassLabel(names=list(label_names))
        if label_names is not None
        else datasets.ClassLabel(num_classes=num_labels)
    )
    return datasets.Features(
        {
            "text": datasets.Value("string"),
            "label": label,
            "poisoned": datasets.Value("bool"),
            "source_label": datasets.Value("int64"),
        }
    )


def examples_to_dataset(examples: Sequence[Example], num_labels: int, label_names=None):
    """One split as a ``Dataset`` with the columns :data:`COLUMNS` (see :func:`features`)."""
    datasets = hf_datasets()

    columns = {name: [e.to_dict()[name] for e in examples] for name in COLUMNS}
    return datasets.Dataset.from_dict(columns, features=features(num_labels, label_names))


def hf_files(dataset_dict: Any) -> dict[str, bytes]:
    """``{relative path: bytes}`` of a ``DatasetDict`` as ``save_to_disk`` writes it, one shard per split (an
    empty split too, so that it loads back). Same rows, same bytes."""
    datasets = hf_datasets()

    was_shown = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        with tempfile.TemporaryDirectory(prefix="crowd-hf-") as tmp:
            dataset_dict.save_to_disk(tmp, num_shards={name: 1 for name in dataset_dict})
            return {
                path.relative_to(tmp).as_posix(): path.read_bytes()
                for path in sorted(Path(tmp).rglob("*"))
                if path.is_file()
            }
    finally:
        if was_shown:
            datasets.enable_progress_bars()


def texts_and_labels(
    texts: Any, labels: Any = None, text_column: str = "text", label_column: str = "label"
) -> tuple[list, list | None]:
    """A defense's inputs: a ``Dataset``'s text column and, when ``labels`` is ``None`` and it has one, its
    label column; else ``texts`` and ``labels`` as lists (``labels`` may be ``None``)."""
    if is_dataset(texts) and labels is None and label_column in texts.column_names:
        labels = texts[label_column]
    return text_list(texts, text_column), label_list(labels, label_column)


SPLIT_NAMES = {"train": ("train",), "dev": ("dev", "validation", "dev_clean"), "test": ("test", "test_clean")}


def load_hf_split(
    folder: str | os.PathLike[str], split: str, text_column: str = "text", label_column: str = "label"
) -> list[Example]:
    """The ``split`` (train, dev, test) of the ``DatasetDict`` saved in ``folder``: the first of its
    :data:`SPLIT_NAMES` that the dict has (``crowd poison``'s ``hf/``: ``dev_clean``, ``test_clean``)."""
    datasets = hf_datasets()

    loaded = load_hf_folder(folder)
    if not isinstance(loaded, datasets.DatasetDict):
        raise ValueError(
            f"{folder}: a single saved Dataset has no splits; save a DatasetDict with train and test splits"
        )
    names = SPLIT_NAMES.get(split, (split,))
    found = next((name for name in names if name in loaded), None)
    if found is None:
        raise ValueError(f"{folder}: no {' or '.join(names)} split; the DatasetDict has {sorted(loaded)}")
    return examples_from_dataset(loaded[found], text_column, label_column, f"{folder} ({found})")


def load_per_text(path: str | os.PathLike[str]):
    """A run's ``per_text.jsonl`` as a ``datasets.Dataset`` (one row per test text; its columns are the
    file's keys: ``text``, ``label``, ``prediction``, ``radii``, ...; a key a row lacks, e.g. a radius of
    an abstention, reads as null). ``path``: the file, or the run folder, whose result set is then checked
    against its ``manifest.json`` first (:func:`read_run`)."""
    path = Path(path)
    rows = read_run(path).per_text if path.is_dir() else read_jsonl(path)
    return hf_datasets().Dataset.from_list(rows)
