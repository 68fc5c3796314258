"""Import a published neighbour table in SAFER's JSON format (Ye et al., ACL 2020).

SAFER's ``counterfitted_neighbors.json`` maps each word to the list of its neighbours,
``{"word": ["neighbour", ...]}`` (plain or gzip-compressed JSON). Each word's perturbation set becomes
the word itself followed by its listed neighbours, in the table's order, with no component expansion:
the table is used as published.

Similarities: with ``vectors`` (any ``KeyedVectors``), each candidate gets its cosine similarity to the
word, computed from those vectors, after all-but-the-top when ``post_components > 0``; candidates
without a vector are dropped and counted in the metadata. Without vectors, similarities are
**unavailable**: every candidate gets ``FALLBACK_SIMILARITY`` (1.0), and ``metadata["similarities"]``
says so. With equal similarities CROWD's beta-weighted substitution has zero variance, which the noise
treats as uniform sampling over the set, i.e. SAFER's own noise.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from synonyms.graph import SynonymGraph
from synonyms.postprocess import all_but_the_top

FALLBACK_SIMILARITY = 1.0
UNAVAILABLE = (
    "unavailable: the table has no similarities and no vectors were given; every candidate has "
    f"similarity {FALLBACK_SIMILARITY} (uniform sampling, SAFER's noise)"
)


def read_safer_table(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Read ``{word: [neighbours]}`` from JSON or ``.json.gz``; errors name the file and line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"SAFER neighbour table {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            table = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from e
    except (UnicodeDecodeError, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable (gzip) UTF-8 JSON file ({e})") from e
    if not isinstance(table, dict):
        raise ValueError(f"{path}: expected a JSON object {{word: [neighbours]}}, got {type(table).__name__}")
    for word, neighbours in table.items():
        if not isinstance(neighbours, list) or not all(isinstance(n, str) for n in neighbours):
            raise ValueError(f"{path}: entry {word!r} is not a list of words")
    if not table:
        raise ValueError(f"{path}: empty vocabulary (the table has no words)")
    return table


def import_safer_table(
    path: str | os.PathLike[str],
    vectors: KeyedVectors | None = None,
    post_components: int = 8,
    lowercase: bool = True,
) -> SynonymGraph:
    """A :class:`SynonymGraph` from a SAFER table (see the module docstring for similarities)."""
    table = read_safer_table(path)
    if lowercase:
        merged: dict[str, list[str]] = {}
        for word, neighbours in table.items():
            merged.setdefault(word.lower(), []).extend(n.lower() for n in neighbours)
        table = merged
    meta: dict[str, object] = {"source": f"SAFER neighbour table {Path(path).name}", "table_path": str(path)}
    if vectors is None:
        sets = {w: [(n, FALLBACK_SIMILARITY) for n in ns] for w, ns in table.items()}
        meta["similarities"] = UNAVAILABLE
        return SynonymGraph.from_sets(sets, meta)
    sets, dropped = _with_similarities(table, vectors, post_components)
    meta["similarities"] = f"cosine from the given vectors (all-but-the-top D={post_components})"
    meta["dropped_without_vector"] = dropped
    return SynonymGraph.from_sets(sets, meta)


def _with_similarities(
    table: dict[str, list[str]], vectors: KeyedVectors, post_components: int
) -> tuple[dict[str, list[tuple[str, float]]], int]:
    """Cosine similarities of each neighbour to its word; pairs lacking a vector are dropped."""
    vocab = [w for w in dict.fromkeys([*table, *(n for ns in table.values() for n in ns)]) if w in vectors]
    if not vocab:
        raise ValueError("no word of the SAFER table has a vector in the given vectors")
    x = np.asarray(vectors[vocab], dtype=np.float32)
    x = all_but_the_top(x, post_components) if post_components and len(vocab) > post_components else x
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    row = {w: i for i, w in enumerate(vocab)}
    sets: dict[str, list[tuple[str, float]]] = {}
    dropped = 0
    for word, neighbours in table.items():
        if word not in row:
            dropped += len(neighbours)
            continue
        kept = [n for n in neighbours if n in row and n != word]
        dropped += len(neighbours) - len(kept)
        sims = x[[row[n] for n in kept]] @ x[row[word]] if kept else np.zeros(0)
        sets[word] = [(n, float(s)) for n, s in zip(kept, sims)]
    return sets, dropped
