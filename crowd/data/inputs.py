"""What the Python entry points accept as labelled examples, turned into :class:`~crowd.data.Example` records.

Three forms, each checked row by row with errors that name the argument and the row (``train[3]: ...``):

- :class:`~crowd.data.Example` records;
- ``(text, label)`` pairs (a list of tuples);
- a :class:`datasets.Dataset` with a text and a label column (``text_column``, ``label_column``; ``poisoned``
  and ``source_label`` columns are read when present, see :func:`crowd.data.hf.examples_from_dataset`).

A label must be an integer class; a string label (``"positive"``) is refused with the labels that are allowed.
Nothing here imports ``datasets``: a ``Dataset`` can only come from a process that already imported it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from crowd.data.example import Example
from crowd.data.hf import examples_from_dataset, is_dataset, is_dataset_dict


def as_examples(
    items: Any,
    where: str,
    text_column: str = "text",
    label_column: str = "label",
    labels: Collection[int] | None = None,
) -> list[Example]:
    """``items`` (examples, ``(text, label)`` pairs or a ``Dataset``) as examples; ``labels``: the allowed
    classes the error for a non-integer label names (default ``0, 1``)."""
    if is_dataset(items):
        try:
            return examples_from_dataset(items, text_column, label_column, where)
        except TypeError as e:
            raise TypeError(f"{e}{_allowed(labels)}") from None
    if is_dataset_dict(items):
        raise TypeError(
            f"{where}: a DatasetDict of splits {sorted(items)}; pass one split, e.g. dataset_dict['train']"
        )
    if isinstance(items, str | bytes) or not hasattr(items, "__iter__"):
        raise TypeError(
            f"{where}: expected Example records, (text, label) pairs or a datasets.Dataset, "
            f"got {type(items).__name__}"
        )
    return [_example(item, f"{where}[{i}]", labels) for i, item in enumerate(items)]


def _example(item: Any, where: str, labels: Collection[int] | None) -> Example:
    if isinstance(item, Example):
        return item
    if not isinstance(item, tuple | list) or len(item) != 2:
        raise TypeError(f"{where}: expected an Example or a (text, label) pair, got {_shown(item)}")
    text, label = item
    if not isinstance(text, str):
        raise TypeError(f"{where}: the text is not a string but {type(text).__name__}")
    return Example(text, check_label(label, where, labels))


def check_label(label: Any, where: str, labels: Collection[int] | None = None) -> int:
    """``label`` as an ``int``; a ``TypeError`` naming ``where`` and the allowed ``labels`` if it is none."""
    if isinstance(label, bool) or not hasattr(label, "__index__"):
        raise TypeError(f"{where}: label {label!r} is not an integer class{_allowed(labels)}")
    return int(label)


def _allowed(labels: Collection[int] | None) -> str:
    allowed = sorted(labels) if labels else [0, 1]
    return f"; the allowed labels are {allowed} (data.labels = [0, 1, ...] gives a corpus's classes)"


def _shown(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 60 else f"{text[:45]}... ({type(item).__name__})"
