"""Quality checks: SimLex-999 Spearman correlation (Hill et al. 2015), antonym leakage into sets, and
agreement with a published neighbour table (SAFER's, :func:`table_agreement`).

SimLex-999 scores word *similarity* (not relatedness); Mrkšić et al. (2016) report it before and after
counter-fitting, computing Spearman's ρ between the gold scores and the cosine similarities of the pairs
whose two words both have vectors.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr


@dataclass(frozen=True)
class SimLexResult:
    """Spearman's ρ over ``n_pairs`` covered pairs out of ``n_total``."""

    spearman: float
    n_pairs: int
    n_total: int


@dataclass(frozen=True)
class AntonymLeak:
    """How many antonym pairs (both words in the graph) have one word in the other's set."""

    n_pairs: int
    n_leaked: int
    examples: tuple[tuple[str, str], ...]

    @property
    def rate(self) -> float:
        return self.n_leaked / self.n_pairs if self.n_pairs else 0.0


def read_simlex(path: str | os.PathLike[str]) -> list[tuple[str, str, float]]:
    """``(word1, word2, score)`` rows of ``SimLex-999.txt`` (TSV with a header; CRLF accepted)."""
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().split("\t")
        if header[:2] != ["word1", "word2"]:
            raise ValueError(f"{path}:1: expected a SimLex-999 header starting 'word1<TAB>word2'")
        for lineno, line in enumerate(f, start=2):
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 4:
                if line.strip():
                    raise ValueError(f"{path}:{lineno}: expected at least 4 tab-separated fields")
                continue
            try:
                rows.append((parts[0].lower(), parts[1].lower(), float(parts[3])))
            except ValueError:
                raise ValueError(f"{path}:{lineno}: SimLex999 score {parts[3]!r} is not a number") from None
    return rows


def simlex_spearman(
    words: Sequence[str], vectors: np.ndarray, rows: Iterable[tuple[str, str, float]]
) -> SimLexResult:
    """Spearman's ρ between SimLex scores and cosine similarities (pairs with both words covered)."""
    index = {w: i for i, w in enumerate(words)}
    rows = list(rows)
    covered = [(index[a], index[b], s) for a, b, s in rows if a in index and b in index]
    if len(covered) < 2:
        return SimLexResult(float("nan"), len(covered), len(rows))
    x = np.asarray(vectors, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    a = np.array([c[0] for c in covered])
    b = np.array([c[1] for c in covered])
    cos = (x[a] * x[b]).sum(axis=1)
    rho = spearmanr([c[2] for c in covered], cos).statistic
    return SimLexResult(float(rho), len(covered), len(rows))


def antonym_leak(
    sets: Mapping[str, Sequence[str]] | object, antonyms: Iterable[tuple[str, str]], max_examples: int = 20
) -> AntonymLeak:
    """Count antonym pairs ``(a, b)`` with both words in the graph and ``b ∈ S_a`` or ``a ∈ S_b``.

    ``sets`` is a :class:`~synonyms.graph.SynonymGraph` or a mapping word → perturbation set.
    """
    lookup = sets.neighbors if hasattr(sets, "neighbors") else sets.__getitem__
    cache: dict[str, set[str]] = {}
    n = leaked = 0
    examples = []
    for a, b in antonyms:
        if a not in sets or b not in sets:
            continue
        n += 1
        for w in (a, b):
            if w not in cache:
                cache[w] = set(lookup(w))
        if b in cache[a] or a in cache[b]:
            leaked += 1
            if len(examples) < max_examples:
                examples.append((a, b))
    return AntonymLeak(n, leaked, tuple(examples))


@dataclass(frozen=True)
class TableAgreement:
    """Directed neighbour pairs ``(w, v)``, ``v ≠ w``, of a graph against a table, over shared words.

    Only words both know count (graph words that are also table keys), for both ends of a pair.
    ``recall`` = shared pairs / table pairs; ``precision`` = shared pairs / graph pairs.
    """

    n_words: int
    graph_pairs: int
    table_pairs: int
    shared_pairs: int
    mean_set_size: float
    mean_set_size_shared_words: float

    @property
    def recall(self) -> float:
        return self.shared_pairs / self.table_pairs if self.table_pairs else float("nan")

    @property
    def precision(self) -> float:
        return self.shared_pairs / self.graph_pairs if self.graph_pairs else float("nan")

    def to_dict(self) -> dict[str, float]:
        return {**self.__dict__, "recall": self.recall, "precision": self.precision}


def table_agreement(graph, table: Mapping[str, Sequence[str]]) -> TableAgreement:
    """Recall and precision of ``graph``'s pairs against ``table`` (``{word: [neighbours]}``, lower-case)."""
    known = {w for w in graph.words if w in table}
    ours = {(w, v) for w in known for v in graph.substitutes(w) if v in known}
    theirs = {(w, v) for w in known for v in table[w] if v != w and v in known}
    sizes = np.diff(graph.indptr)
    shared_sizes = [graph.set_size(w) for w in known]
    return TableAgreement(
        len(known),
        len(ours),
        len(theirs),
        len(ours & theirs),
        float(sizes.mean()) if len(sizes) else 0.0,
        float(np.mean(shared_sizes)) if shared_sizes else 0.0,
    )
