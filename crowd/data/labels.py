"""The label set of a corpus, checked before any training.

A classifier gets ``K`` outputs for labels ``0..K-1``; a stray label (``7`` in one row of a binary
corpus) must stop the run with the file and line of that row, not silently add classes. Known corpora
have fixed label sets (:data:`crowd.data.datasets.DATASETS`); a user corpus is binary (``0, 1``)
unless its full label list is given explicitly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable

from crowd.data.example import Example
from crowd.data.formats import DataFormatError

DEFAULT_LABELS = (0, 1)


def labels_shown(labels: Iterable[int], limit: int = 10) -> str:
    """``labels`` as a list for a message; a long one cut to its first and last few with its length said."""
    values = list(labels)
    if len(values) <= limit:
        return str(values)
    head, tail = ", ".join(map(str, values[:5])), ", ".join(map(str, values[-2:]))
    return f"[{head}, ..., {tail}] ({len(values):,} labels)"


def _counts_shown(counts: dict[int, int], limit: int = 10) -> str:
    if len(counts) <= limit:
        return str(counts)
    items = ", ".join(f"{k}: {v}" for k, v in list(counts.items())[:5])
    return f"{{{items}, ...}} ({len(counts):,} labels)"


def label_set(labels: Collection[int] | None = None) -> tuple[int, ...]:
    """The allowed labels: ``labels`` (which must be exactly ``0..K-1``, K ≥ 2) or :data:`DEFAULT_LABELS`."""
    if labels is None:
        return DEFAULT_LABELS
    values = list(labels)
    if any(isinstance(x, bool) or not isinstance(x, int) for x in values):
        raise ValueError(f"labels must be integers, got {values!r}")
    if len(values) < 2 or sorted(values) != list(range(len(values))):
        raise ValueError(f"labels must be 0..K-1 with K >= 2, each once (got {labels_shown(values)})")
    return tuple(range(len(values)))


def check_label_set(
    examples: Iterable[Example],
    labels: Collection[int] | None = None,
    where: str | None = None,
    complete: bool = False,
) -> tuple[int, ...]:
    """Raise one :class:`DataFormatError` for the first example whose label is not allowed; return the set.

    ``labels`` is the allowed set (see :func:`label_set`; default ``0, 1``). The error names the
    example's ``source`` (``file:line``) when it has one, else ``where``. With ``complete=True`` (a
    training set) every allowed label must also occur, since a class without training examples can
    never be learnt.
    """
    allowed = label_set(labels)
    examples = list(examples)
    where = where or _first_file(examples) or "examples"
    bad = [e for e in examples if e.label not in allowed]
    if bad:
        counts = dict(sorted(Counter(e.label for e in bad).items()))
        message = (
            f"label {bad[0].label} is not one of the allowed labels {labels_shown(allowed)} "
            f"({len(bad):,} example(s) in all: {_counts_shown(counts)}){_hint(labels)}"
        )
        raise _error(bad[0].source, where, message)
    if complete:
        missing = sorted(set(allowed) - {e.label for e in examples})
        if missing:
            found = sorted({e.label for e in examples})
            raise DataFormatError(
                where,
                None,
                f"label(s) {labels_shown(missing)} never occur (found {labels_shown(found)}); "
                "every class needs examples",
            )
    return allowed


def _hint(labels: Collection[int] | None) -> str:
    if labels is not None:
        return ""
    return (
        "; a user corpus is binary unless its full label list is given: data.labels = [0, 1, 2] in a config "
        "file, --set 'data.labels=[0,1,2]' on the command line"
    )


def _first_file(examples: list[Example]) -> str | None:
    source = next((e.source for e in examples if e.source), None)
    return source.rpartition(":")[0] or source if source else None


def _error(source: str | None, where: str, message: str) -> DataFormatError:
    if source:
        path, _, line = source.rpartition(":")
        if path and line.isdigit():
            return DataFormatError(path, int(line), message)
        return DataFormatError(source, None, message)
    return DataFormatError(where, None, message)
