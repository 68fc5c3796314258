"""Total-variation certificate for product noise, e.g. synonym substitution (THEORY §3b).

For product distributions ``TV(⊗P_i, ⊗Q_i) <= 1 - Π_i (1 - TV(P_i, Q_i))`` and
``|P[f = c] - Q[f = c]| <= TV`` for every event, hence for every classifier trained on noisy data and
applied to a noisy test text. With ``Δ_r`` the bound over the ``r`` positions with the largest per-position
TV, the smoothed prediction is unchanged by any ``r`` substitutions if ``p_A_lower - Δ_r > p_B_upper + Δ_r``
(binary: ``p_A_lower - Δ_r > 1/2``). The radius unit is *synonym substitutions in the training texts*:
the test text is taken as given (THEORY §3, "what a backdoor certificate means"), so only training
positions are passed in. A position counts once whatever it is replaced by, because its per-position value
is the largest TV over every substitution the attack budget counts as covered there, in the direction
clean ``w`` → poisoned ``v`` (:meth:`synonyms.graph.SynonymGraph.covers`). A graph need not be symmetric,
so for a position of an observed (possibly poisoned) corpus holding ``v`` that maximum runs over every
``w`` whose set lists ``v``, not over ``S_v`` (:meth:`crowd.noise.SynonymNoise.max_tv` does both).

The per-position values must be computed from the distributions the noise actually samples (``π_w``);
:func:`safer_tv` is only valid for SAFER's *uniform* sampling. This module only combines the values it is
given: a certificate is sound for exactly the relation and noise they were computed for.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping

import numpy as np

# Float rounding of Δ is ~1e-16; requiring this margin makes the comparison err on the safe side.
_MARGIN = 1e-12


def _sorted_desc(per_position_tv: np.ndarray) -> np.ndarray:
    tv = np.asarray(per_position_tv, dtype=float).reshape(-1)
    if np.any(tv < 0) or np.any(tv > 1) or np.any(np.isnan(tv)):
        raise ValueError("per-position TV values must lie in [0, 1]")
    return np.sort(tv)[::-1]


def tv_deltas(per_position_tv: np.ndarray, max_radius: int) -> np.ndarray:
    """``[Δ_0, ..., Δ_max_radius]`` with ``Δ_r = 1 - Π_{i<=r}(1 - tv_(i))`` over the ``r`` largest values.

    Missing values (fewer positions than ``max_radius``) are taken as 1, the worst case, so pass at least
    ``max_radius`` values when more positions exist. Non-decreasing in ``r``; ``Δ_0 = 0``.
    """
    tv = _sorted_desc(per_position_tv)[:max_radius]
    tv = np.concatenate([tv, np.ones(max_radius - tv.size)])
    with np.errstate(divide="ignore"):
        log_keep = np.cumsum(np.log1p(-tv))
    return np.concatenate([[0.0], -np.expm1(log_keep)])


def tv_bound(per_position_tv: np.ndarray, r: int) -> float:
    """``Δ = 1 - Π_{i<=r}(1 - tv_(i))`` over the ``r`` largest per-position TV values (THEORY §3b)."""
    return float(tv_deltas(per_position_tv, r)[r])


def tv_radius(
    p_lower: float,
    p_upper_runner_up: float,
    per_position_tv: np.ndarray,
    max_radius: int,
) -> int | None:
    """Largest number of synonym substitutions (in the training texts; the test text is given) certified.

    Certified at ``r`` iff ``p_lower - Δ_r > p_upper_runner_up + Δ_r`` (with a ``1e-12`` safety margin);
    for two classes pass ``p_upper_runner_up = 1 - p_lower``. Returns ``None`` if not even radius 0 holds
    and at most ``max_radius``. The guarantee holds with the probability that both bounds hold and
    only for the noise whose per-position TV values were given.
    """
    deltas = tv_deltas(per_position_tv, max_radius)
    ok = np.flatnonzero(p_lower - p_upper_runner_up - 2 * deltas > _MARGIN)
    return None if ok.size == 0 else int(ok[-1])


def categorical_tv(p: Mapping[Hashable, float], q: Mapping[Hashable, float]) -> float:
    """Total variation ``½ Σ_x |p(x) - q(x)|`` between two categorical distributions given as mappings."""
    keys = set(p) | set(q)
    return 0.5 * float(sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in keys))


def safer_tv(set_w: Collection[Hashable], set_w_prime: Collection[Hashable]) -> float:
    """TV between *uniform* sampling from ``S_w`` and from ``S_w'`` (SAFER, Ye et al. 2020).

    Exactly ``1 - |S_w ∩ S_w'| / max(|S_w|, |S_w'|)``. SAFER's ``1 - |S_w ∩ S_w'| / |S_w|`` agrees when
    ``|S_w| >= |S_w'|`` and is too small otherwise. Valid ONLY for uniform sampling; CROWD's
    beta-weighted sampler needs :func:`categorical_tv` of the real distributions.
    """
    a, b = set(set_w), set(set_w_prime)
    if not a or not b:
        raise ValueError("perturbation sets must be non-empty (they contain the word itself)")
    return 1.0 - len(a & b) / max(len(a), len(b))
