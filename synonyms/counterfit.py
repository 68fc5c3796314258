"""Counter-fitting word vectors to linguistic constraints (Mrkšić et al., NAACL 2016).

"Counter-fitting Word Vectors to Linguistic Constraints" minimises, over unit vectors ``V'``,
``C(V') = k1·AR + k2·SA + k3·VSP`` with ``d(u, w) = 1 - cos(u, w)`` and ``τ(x) = max(0, x)``:

- antonym repel ``AR = Σ_{(u,w)∈A} τ(δ - d(v'_u, v'_w))`` (δ = 1.0),
- synonym attract ``SA = Σ_{(u,w)∈S} τ(d(v'_u, v'_w) - γ)`` (γ = 0.0),
- vector-space preservation ``VSP = Σ_i Σ_{j∈N(i)} τ(d(v'_i, v'_j) - d(v_i, v_j))`` where ``N(i)`` is the
  set of words within distance ρ = 0.2 of ``i`` in the *original* space.

Optimisation follows the released code's full-batch SGD: each step moves every word along the sum of
the (tangent) gradients of its active hinge terms, each scaled by its weight ``k`` (equal weights, 0.1),
divided by the number of active terms, then renormalises all vectors. All pairs are processed at once
with torch ``index_add_`` (CPU here, GPU when given ``device="cuda"``); antonym pairs are removed from
the synonym and VSP pairs as in the released code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from synonyms.constraints import Constraints
from synonyms.neighbours import normalise, similar_pairs

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class CounterFitParams:
    """Hyper-parameters; defaults are the paper's (δ = 1, γ = 0, ρ = 0.2, equal weights, 20 epochs)."""

    delta: float = 1.0
    gamma: float = 0.0
    rho: float = 0.2
    k_antonym: float = 0.1
    k_synonym: float = 0.1
    k_vsp: float = 0.1
    epochs: int = 20
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")
        if not 0.0 <= self.rho <= 2.0:
            raise ValueError(f"rho must be in [0, 2], got {self.rho}")


@dataclass(frozen=True)
class CounterFitResult:
    """Counter-fitted unit vectors (same row order as the input) and what was enforced."""

    vectors: np.ndarray
    n_synonym_pairs: int
    n_antonym_pairs: int
    n_vsp_pairs: int
    losses: tuple[float, ...]


def pair_indices(words: Sequence[str], pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """``(m, 2)`` int64 row indices of the pairs whose two words are both in ``words``."""
    index = {w: i for i, w in enumerate(words)}
    out = [(index[a], index[b]) for a, b in pairs if a in index and b in index and a != b]
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def counter_fit(
    words: Sequence[str],
    vectors: np.ndarray,
    constraints: Constraints,
    params: CounterFitParams | None = None,
    progress: Callable[[int], object] | None = None,
) -> CounterFitResult:
    """Counter-fit ``vectors`` (rows = ``words``) to ``constraints``; returns unit-length vectors."""
    import torch  # lazy: only a graph build counter-fits; loading a cached graph (a bow run) needs no torch

    params = params or CounterFitParams()
    unit = normalise(vectors)
    ant = pair_indices(words, constraints.antonyms)
    syn = pair_indices(words, constraints.synonyms)
    syn = syn[_not_banned(syn, ant)]
    vsp_i, vsp_d = _vsp_pairs(unit, params.rho, ant)
    dev = torch.device(params.device)
    x = torch.from_numpy(unit).to(dev)
    both = lambda p: torch.from_numpy(np.concatenate([p, p[:, ::-1]]).copy()).to(dev)  # noqa: E731
    a_t, s_t, v_t = both(ant), both(syn), both(vsp_i)
    v_d = torch.from_numpy(np.concatenate([vsp_d, vsp_d])).to(dev)
    losses = []
    for _ in range(params.epochs):
        x, loss = _step(x, a_t, s_t, v_t, v_d, params)
        losses.append(loss)
        if progress is not None:
            progress(1)
    return CounterFitResult(x.cpu().numpy(), len(syn), len(ant), len(vsp_i), tuple(losses))


def _step(
    x: torch.Tensor,
    ant: torch.Tensor,
    syn: torch.Tensor,
    vsp: torch.Tensor,
    vsp_d0: torch.Tensor,
    p: CounterFitParams,
) -> tuple[torch.Tensor, float]:
    """One full-batch step on directed pairs ``(i, j)``; only word ``i`` of each pair is updated."""
    import torch  # lazy: as in counter_fit

    update = torch.zeros_like(x)
    count = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    loss = 0.0
    # sign: +1 pushes i away from j (AR), -1 pulls i towards j (SA, VSP)
    terms = ((ant, p.k_antonym, +1.0), (syn, p.k_synonym, -1.0), (vsp, p.k_vsp, -1.0))
    for kind, (pairs, k, sign) in enumerate(terms):
        if len(pairs) == 0 or k == 0:
            continue
        u, w = x[pairs[:, 0]], x[pairs[:, 1]]
        dist = 1.0 - (u * w).sum(dim=1)
        if kind == 0:
            hinge = p.delta - dist
        elif kind == 1:
            hinge = dist - p.gamma
        else:
            hinge = dist - vsp_d0
        active = hinge > 0
        loss += float(hinge[active].sum()) / 2  # every pair appears in both directions
        grad = u * (1.0 - dist).unsqueeze(1) - w  # tangent gradient of d(u, w) w.r.t. u
        i = pairs[active, 0]
        update.index_add_(0, i, sign * k * grad[active])
        count.index_add_(0, i, torch.ones_like(i, dtype=x.dtype))
    x = x + update / count.clamp(min=1).unsqueeze(1)
    return torch.nn.functional.normalize(x, dim=1), loss


def _not_banned(pairs: np.ndarray, banned: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``pairs`` not listed (in either order) in ``banned``."""
    if len(pairs) == 0 or len(banned) == 0:
        return np.ones(len(pairs), dtype=bool)
    n = int(max(pairs.max(), banned.max())) + 1
    keys = np.minimum(pairs[:, 0], pairs[:, 1]) * n + np.maximum(pairs[:, 0], pairs[:, 1])
    bad = np.minimum(banned[:, 0], banned[:, 1]) * n + np.maximum(banned[:, 0], banned[:, 1])
    return ~np.isin(keys, bad)


def _vsp_pairs(unit: np.ndarray, rho: float, antonyms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs within distance ``rho`` in the original space (each once, antonyms removed) and that distance."""
    adj = similar_pairs(unit, 1.0 - rho).tocoo()
    upper = adj.row < adj.col
    pairs = np.stack([adj.row[upper], adj.col[upper]], axis=1).astype(np.int64)
    dists = (1.0 - adj.data[upper]).astype(np.float32)
    keep = _not_banned(pairs, antonyms)
    return pairs[keep], dists[keep]
