"""Neighbours and perturbation sets, as SAFER (Ye et al., ACL 2020) and CROWD define them.

Neighbours of ``w``: the words ``v != w`` with cosine similarity ``cos(w, v) >= threshold`` (CROWD and SAFER:
0.8 on all-but-the-top post-processed counter-fitted vectors). The neighbour relation is symmetric, so
it defines an undirected graph. Perturbation set ``S_w`` (THEORY §2):

- ``w`` lies in a connected component of at most ``component_cap`` words (CROWD/SAFER: 100): ``S_w`` is
  the whole component, ordered by similarity to ``w`` (so members need not be direct neighbours);
- ``w`` lies in a larger component: ``S_w`` is ``w`` and its direct neighbours, the ``neighbour_cap``
  most similar ones (``neighbour_cap`` counts ``w`` itself, as ``component_cap`` does).

Words with no neighbour get ``S_w = {w}``. Optionally (``exclude``, on by default in
:mod:`synonyms.build`) listed antonyms are removed from each other's sets: a component can join two
antonyms through a word close to both (``good - fine - bad``), and CROWD's rule alone would keep them. The released SAFER code, in the large-component case, takes the
``cap`` words of the whole component most similar to ``w`` instead of its direct neighbours; we follow
THEORY §2 (direct neighbours), which never admits a word below the threshold in that case.

Similarities are computed by chunked matrix products, never a dense V × V matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

ProgressFn = Callable[[int], object]


@dataclass(frozen=True)
class NeighbourParams:
    """Thresholds for :func:`perturbation_sets` (defaults: CROWD's 0.8 threshold and cap 100)."""

    threshold: float = 0.8
    component_cap: int = 100
    neighbour_cap: int = 100
    chunk_bytes: int = 128 * 2**20

    def __post_init__(self) -> None:
        if not -1.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [-1, 1], got {self.threshold}")
        if self.component_cap < 1 or self.neighbour_cap < 1:
            raise ValueError("component_cap and neighbour_cap must be >= 1")


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    x = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def similar_pairs(
    unit: np.ndarray,
    threshold: float,
    chunk_bytes: int = 128 * 2**20,
    progress: ProgressFn | None = None,
) -> csr_matrix:
    """Sparse symmetric matrix of cosine similarities ``>= threshold`` between different rows of ``unit``.

    ``unit`` must have unit-length rows. Rows are processed in chunks of about ``chunk_bytes`` of
    similarity scores, and only the upper triangle is computed.
    """
    n = unit.shape[0]
    step = max(1, int(chunk_bytes // (4 * max(n, 1))))
    rows, cols, vals = [], [], []
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = unit[start:stop] @ unit[start:].T  # columns start at `start`: upper triangle only
        r, c = np.nonzero(block >= threshold)
        c_abs = c + start
        keep = c_abs > r + start
        rows.append(r[keep] + start)
        cols.append(c_abs[keep])
        vals.append(block[r[keep], c[keep]])
        if progress is not None:
            progress(stop - start)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    v = np.concatenate(vals) if vals else np.zeros(0, np.float32)
    upper = coo_matrix((v, (r, c)), shape=(n, n), dtype=np.float32)
    return (upper + upper.T).tocsr()


def perturbation_sets(
    words: Sequence[str],
    unit: np.ndarray,
    params: NeighbourParams,
    progress: ProgressFn | None = None,
    exclude: Iterable[tuple[int, int]] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR ``(indptr, indices, similarities)`` of the perturbation set of each word (itself first).

    ``unit``: unit-length vectors of ``words`` (post-processed). See the module docstring for the rule.
    ``exclude``: row-index pairs ``(i, j)`` (e.g. known antonyms) such that ``j`` is removed from
    ``S_i`` and ``i`` from ``S_j`` after the sets are formed (an addition to CROWD/SAFER's rule).
    """
    banned: dict[int, set[int]] = {}
    for a, b in exclude:
        banned.setdefault(int(a), set()).add(int(b))
        banned.setdefault(int(b), set()).add(int(a))
    if len(words) != unit.shape[0]:
        raise ValueError(f"{len(words)} words but {unit.shape[0]} vectors")
    adj = similar_pairs(unit, params.threshold, params.chunk_bytes, progress)
    _, labels = connected_components(adj, directed=False)
    sizes = np.bincount(labels)
    members = _members_by_label(labels)
    indptr, indices, sims = [0], [], []
    for i in range(len(words)):
        limit = None
        if sizes[labels[i]] <= params.component_cap:
            cand = members[labels[i]]
            cand = cand[cand != i]
            s = unit[cand] @ unit[i]
        else:
            lo, hi = adj.indptr[i], adj.indptr[i + 1]
            cand, s, limit = adj.indices[lo:hi], adj.data[lo:hi], params.neighbour_cap - 1
        if i in banned:
            ok = np.array([c not in banned[i] for c in cand.tolist()], dtype=bool)
            cand, s = cand[ok], s[ok]
        order = np.argsort(-s, kind="stable")[:limit]
        indices.extend([i, *cand[order].tolist()])
        sims.extend([1.0, *s[order].tolist()])
        indptr.append(len(indices))
    return np.asarray(indptr, np.int64), np.asarray(indices, np.int32), np.asarray(sims, np.float32)


def _members_by_label(labels: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(labels.max() + 2 if len(labels) else 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(len(bounds) - 1)]
