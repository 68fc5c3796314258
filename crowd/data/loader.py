"""Turn files into :class:`~crowd.data.Example` lists, with a report of anything skipped.

Every problem names the file and line. With ``errors="raise"`` (default) the first
bad row raises :class:`~crowd.data.formats.DataFormatError`; with
``errors="skip"`` bad rows are left out and each is listed in the
:class:`LoadReport` (line and reason), so nothing disappears unaccounted.
Problems with the file as a whole (wrong format, missing column) always raise.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import warnings
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from crowd.data.example import Example
from crowd.data.formats import DataFormatError, RawRow, check_file, infer_format, read_rows
from crowd.data.normalize import DEFAULT, Normalization

# Davidson et al. class (0 hate speech, 1 offensive, 2 neither) -> HSOL binary label (1 = toxic).
DAVIDSON_BINARY = {"0": 1, "1": 1, "2": 0}
MEMO_SIZE = 16
MEMO_MAX_BYTES = 64 * 2**20  # larger files are read every time, not kept
_DEFAULT_COLUMNS = {
    "openbackdoor": ("0", "1", "2"),
    "davidson": ("tweet", "class", None),
}


@dataclass(frozen=True)
class SkippedRow:
    line: int
    reason: str


@dataclass(frozen=True)
class LoadReport:
    """What was read from one file: rows seen, examples kept, rows skipped (with line and reason)."""

    path: str
    format: str
    n_rows: int
    n_loaded: int
    skipped: tuple[SkippedRow, ...] = ()

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    def reasons(self) -> dict[str, int]:
        return dict(Counter(s.reason.split(":")[0] for s in self.skipped))

    def summary(self) -> str:
        text = f"{self.path}: {self.n_loaded} of {self.n_rows} rows loaded"
        if self.skipped:
            text += f", {self.n_skipped} skipped ({self.reasons()})"
        return text


@dataclass(frozen=True)
class LoadResult:
    examples: tuple[Example, ...]
    report: LoadReport


@dataclass(frozen=True)
class _Spec:
    text: str
    label: str
    poison: str | None
    labels: frozenset[int] | None
    label_map: Mapping[str, int] | None
    normalize: Normalization


def _memoised(read):
    """Keep the last :data:`MEMO_SIZE` results of ``read(path, ...)``, keyed by the arguments and a hash of
    the file's bytes (hashing is far cheaper than parsing); errors and files over :data:`MEMO_MAX_BYTES`
    are never kept."""
    signature = inspect.signature(read)
    memo: OrderedDict[tuple, LoadResult] = OrderedDict()

    @functools.wraps(read)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        path = Path(bound.arguments["path"])
        if not path.is_file() or path.stat().st_size > MEMO_MAX_BYTES:
            return read(*args, **kwargs)
        key = (
            hashlib.blake2b(path.read_bytes(), digest_size=16).digest(),
            *map(_hashable, bound.arguments.items()),
        )
        try:
            hash(key)
        except TypeError:  # an argument that cannot be a key: read without the memo
            return read(*args, **kwargs)
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
        result = memo[key] = read(*args, **kwargs)
        if len(memo) > MEMO_SIZE:
            memo.popitem(last=False)
        return result

    return wrapper


def _hashable(item: tuple[str, object]) -> tuple[str, object]:
    """An argument as part of a memo key: paths as strings, mappings and collections as tuples."""
    name, value = item
    if isinstance(value, Mapping):
        value = tuple(sorted(value.items()))
    elif isinstance(value, (list, set, frozenset)):
        value = tuple(value)
    return name, os.fspath(value) if isinstance(value, os.PathLike) else value


@_memoised
def read_file(
    path: str | os.PathLike[str],
    format: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    poison_column: str | None = None,
    quoting: str = "none",
    labels: Collection[int] | None = (0, 1),
    label_map: Mapping[str, int] | None = None,
    normalize: Normalization = DEFAULT,
    errors: str = "raise",
) -> LoadResult:
    """Read a labelled text file into examples plus a :class:`LoadReport`.

    Columns are matched case-insensitively; defaults: ``sentence`` (or ``text``) and
    ``label`` for tsv/csv/jsonl, ``0``/``1``/``2`` for OpenBackdoor CSVs,
    ``tweet``/``class`` for the raw Davidson file (whose classes are mapped to the
    HSOL binary label by :data:`DAVIDSON_BINARY` unless ``label_map`` is given).
    ``labels`` is the allowed label set (``None`` allows any integer).

    The last :data:`MEMO_SIZE` results are kept in memory, keyed by the arguments and a hash of the
    file's bytes: a benchmark reads the same corpus for every cell.
    """
    path = Path(path)
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
    check_file(path)
    fmt = format or infer_format(path)
    rows = iter(read_rows(path, fmt, quoting))
    first = next(rows, None)
    if first is None:
        raise DataFormatError(path, None, "no data rows (the file has a header and nothing else)")
    spec = _resolve(path, fmt, first, text_column, label_column, poison_column, labels, label_map, normalize)
    examples: list[Example] = []
    skipped: list[SkippedRow] = []
    n_rows = 0
    for row in _chain(first, rows):
        n_rows += 1
        try:
            examples.append(_example(row, spec, f"{path}:{row.line}"))
        except ValueError as e:
            if errors == "raise":
                raise DataFormatError(path, row.line, str(e)) from None
            skipped.append(SkippedRow(row.line, str(e)))
    if not examples:
        first_bad = skipped[0]
        message = f"none of the {n_rows} data rows could be read (first problem: {first_bad.reason})"
        raise DataFormatError(path, first_bad.line, message)
    return LoadResult(tuple(examples), LoadReport(str(path), fmt, n_rows, len(examples), tuple(skipped)))


def load_file(
    path: str | os.PathLike[str],
    format: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    poison_column: str | None = None,
    quoting: str = "none",
    labels: Collection[int] | None = (0, 1),
    label_map: Mapping[str, int] | None = None,
    normalize: Normalization = DEFAULT,
    errors: str = "raise",
) -> list[Example]:
    """Like :func:`read_file` but returns the examples; skipped rows (``errors="skip"``) raise a warning."""
    result = read_file(
        path, format, text_column, label_column, poison_column, quoting, labels, label_map, normalize, errors
    )
    if result.report.skipped:
        warnings.warn(result.report.summary(), stacklevel=2)
    return list(result.examples)


def _chain(first: RawRow, rest: Iterable[RawRow]) -> Iterable[RawRow]:
    yield first
    yield from rest


def _resolve(
    path: Path,
    fmt: str,
    first: RawRow,
    text_column: str | None,
    label_column: str | None,
    poison_column: str | None,
    labels: Collection[int] | None,
    label_map: Mapping[str, int] | None,
    normalize: Normalization,
) -> _Spec:
    names = list(first.fields)
    default_text, default_label, default_poison = _DEFAULT_COLUMNS.get(fmt, (None, "label", None))
    check = fmt != "jsonl"  # JSON Lines rows are checked one by one
    text = _column(path, names, text_column or default_text, ("sentence", "text"), check)
    label = _column(path, names, label_column or default_label, (), check)
    poison_name = poison_column or default_poison
    poison = _column(path, names, poison_name, (), check) if poison_name else None
    if fmt == "davidson" and label_map is None:
        label_map = DAVIDSON_BINARY
    allowed = None if labels is None else frozenset(int(x) for x in labels)
    return _Spec(text, label, poison, allowed, label_map, normalize)


def _column(path: Path, names: list[str], wanted: str | None, fallbacks: tuple[str, ...], check: bool) -> str:
    lowered = {n.lower(): n for n in names}
    for candidate in [wanted] if wanted is not None else list(fallbacks):
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    if not check:
        return wanted or fallbacks[0]
    asked = wanted if wanted is not None else " or ".join(fallbacks)
    raise DataFormatError(path, 1, f"no column {asked!r}; the header has {names}")


def _example(row: RawRow, spec: _Spec, source: str) -> Example:
    if row.problem is not None:
        raise ValueError(row.problem)
    raw_text, raw_label = row.fields.get(spec.text), row.fields.get(spec.label)
    if raw_text is None or raw_label is None:
        missing = spec.text if raw_text is None else spec.label
        raise ValueError(f"missing field: {missing!r}")
    if spec.text in row.kinds:  # JSON Lines: {"text": 12345} is not a text
        raise ValueError(
            f"field {spec.text!r} is a JSON {row.kinds[spec.text]} ({raw_text[:40]}), expected a string"
        )
    text = spec.normalize(raw_text)
    if not text.strip():
        raise ValueError("empty text")
    label = _parse_label(raw_label.strip(), spec)
    poisoned = False
    if spec.poison is not None:
        value = (row.fields.get(spec.poison) or "").strip()
        if value not in ("0", "1"):
            raise ValueError(f"poison label {value!r} is not 0 or 1")
        poisoned = value == "1"
    return Example(text, label, poisoned=poisoned, source=source)


def _parse_label(raw: str, spec: _Spec) -> int:
    if spec.label_map is not None:
        if raw not in spec.label_map:
            raise ValueError(f"unknown label: {raw!r} is not in the label map {sorted(spec.label_map)}")
        return spec.label_map[raw]
    try:
        label = int(raw)
    except ValueError:
        raise ValueError(f"unknown label: {raw!r} is not an integer") from None
    if spec.labels is not None and label not in spec.labels:
        raise ValueError(f"unknown label: {label} is not one of the allowed labels {sorted(spec.labels)}")
    return label


SPLIT_EXTENSIONS = ("tsv", "csv", "jsonl")


def find_split_file(folder: str | os.PathLike[str], split: str) -> Path:
    """The one file of ``split`` in ``folder``: ``{split}.tsv``, ``.csv`` or ``.jsonl``, optionally ``.gz``.

    Two candidates (``train.tsv`` and ``train.jsonl``, or ``train.tsv`` and ``train.tsv.gz``) raise
    ``ValueError`` naming both: which one was meant cannot be guessed. A candidate that is not a file (a
    folder ``train.csv``, a symbolic link loop or a broken link) raises naming it (:func:`check_file`).
    """
    folder = Path(folder)
    names = [f"{split}.{ext}{gz}" for ext in SPLIT_EXTENSIONS for gz in ("", ".gz")]
    found = [folder / name for name in names if os.path.lexists(folder / name)]
    for candidate in found:
        check_file(candidate)
    if len(found) > 1:
        raise ValueError(
            f"{folder}: both {found[0].name} and {found[1].name} are {split} files; "
            "keep one (which was meant cannot be guessed)"
        )
    if not found:
        raise FileNotFoundError(f"{folder}: no {split}.tsv, {split}.csv or {split}.jsonl (optionally .gz)")
    return found[0]


def check_label_sets(
    splits: Mapping[str, Iterable[Example]], sources: Mapping[str, str] | None = None
) -> None:
    """Raise if the splits do not all use the same set of labels (e.g. dev has a class train lacks)."""
    found = {name: frozenset(e.label for e in examples) for name, examples in splits.items()}
    if len(set(found.values())) > 1:
        where = {name: (sources or {}).get(name, name) for name in found}
        detail = "; ".join(f"{where[n]}: {sorted(v)}" for n, v in found.items())
        raise ValueError(f"mixed label sets between splits: {detail}")
