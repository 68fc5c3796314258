"""Multi-class ℓ0 certificate for keep-β noise (Lee et al. 2019, THEORY §3a, "for more classes").

For a split of ``r`` changed coordinates, let ``Q_min(p)`` be the smallest mass under ``x'`` of any event
with mass ``p`` under ``x`` (Neyman–Pearson: fill regions in decreasing likelihood ratio). The top class
keeps at least ``Q_min(p_A_lower)`` and the runner-up gets at most ``1 - Q_min(1 - p_B_upper)``, so the
prediction is unchanged at radius ``r`` if ``Q_min(p_A_lower) + Q_min(1 - p_B_upper) > 1`` for every
split of every radius up to ``r``. With ``p_B_upper = 1 - p_A_lower`` this is the binary condition
``p_A_lower > ρ_r``.

Computed in float64 from the exact integer masses; each ``Q_min`` carries an error estimate (its slope
times the rounding of the cumulative mass, plus ``1e-12``) and the condition must hold by more than the
summed estimates plus ``1e-9``, so rounding can only make the radius smaller.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from crowd.certify._exact import Kind, split_regions
from crowd.certify.lee import _splits, normalize_kinds

_MARGIN = 1e-9
_EPS = 1e-15


@functools.lru_cache(maxsize=4096)
def _curve(kinds: tuple[Kind, ...], split: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative masses under ``x`` and ``x'`` (leading 0) in decreasing ratio order, and slopes q/p."""
    log_p, log_q, _ = split_regions(kinds, split)
    live = np.isfinite(log_p)
    log_p, log_q = log_p[live], log_q[live]
    order = np.argsort(-(log_p - log_q), kind="stable")
    log_p, log_q = log_p[order], log_q[order]
    cum_p = np.concatenate([[0.0], np.cumsum(np.exp(log_p))])
    cum_q = np.concatenate([[0.0], np.cumsum(np.exp(log_q))])
    return cum_p, cum_q, np.exp(log_q - log_p)


def _q_min(curve: tuple[np.ndarray, np.ndarray, np.ndarray], p: float) -> tuple[float, float]:
    """``(Q_min(p), error estimate)`` for one split."""
    cum_p, cum_q, slope = curve
    j = int(np.clip(np.searchsorted(cum_p, p, side="left") - 1, 0, slope.size - 1))
    value = cum_q[j] + max(0.0, p - cum_p[j]) * slope[j]
    err = slope[j] * _EPS * cum_p.size + 1e-12
    return min(value, 1.0), err


def _holds(kinds: tuple[Kind, ...], radius: int, p_lower: float, p_upper: float) -> bool:
    for split in _splits(radius, len(kinds)):
        curve = _curve(kinds, split)
        keep_a, err_a = _q_min(curve, p_lower)
        keep_not_b, err_b = _q_min(curve, 1.0 - p_upper)
        if keep_a + keep_not_b - 1.0 <= err_a + err_b + _MARGIN:
            return False
    return True


def lee_radius_multiclass(
    p_lower: float,
    p_upper_runner_up: float,
    kinds: Sequence[tuple[float | Fraction, int]],
    max_radius: int,
) -> int | None:
    """Largest ℓ0 radius (changed coordinates, all kinds) with the multi-class condition; ``None`` if none.

    Guarantee: under keep-β noise with these kinds, if ``P[f = c_A] >= p_lower`` and every other class has
    probability ``<= p_upper_runner_up`` (both hold with the probability of the bounds), then at every input
    within the returned number of changed coordinates ``c_A`` has strictly more mass than any other class.
    """
    key = normalize_kinds(kinds)
    if not p_lower - p_upper_runner_up > _MARGIN:
        return None
    radius = 0
    while radius < max_radius and _holds(key, radius + 1, p_lower, p_upper_runner_up):
        radius += 1
    return radius
