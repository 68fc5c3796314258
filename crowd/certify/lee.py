"""ℓ0 certificate for keep-β noise (Lee, Yuan, Chang & Jaakkola 2019; Wang et al. 2020) — THEORY §3a.

Noise: every coordinate of kind ``k`` keeps its value with probability ``β_k`` and otherwise takes each of
the other ``d_k - 1`` values with probability ``θ_k = (1-β_k)/(d_k-1)``, independently. Kinds are, e.g.,
training-text token positions, training labels and test-text token positions, each with its own
``(β, d)``. The radius counts changed coordinates of all kinds together; the attacker chooses how to split
it among the kinds, so the threshold is the worst (largest) one over every split of at most ``r``.
A backdoor certificate passes only the kinds the attacker changes in the training set (tokens and labels):
the test text is taken as given (THEORY §3, "what a backdoor certificate means").

``ρ_r`` is the smallest ``p_A`` that still forces ``P'[f = c_A] >= 1/2`` at every input within ``r``
changed coordinates; certified at radius ``r`` iff ``p_A_lower > ρ_r``. It does not depend on how many
coordinates there are (a kind is assumed to have at least ``r`` coordinates, which can only raise ρ).

Exactness. Every probability is an integer over a known denominator, so ``ρ_r`` is computed as an exact
:class:`fractions.Fraction`. To be fast, every split is first screened in floating point (logarithms of the
exact integers, error far below ``1e-10``); only splits within ``1e-8`` of the best float value are then
evaluated exactly, and the largest exact value is returned. Thresholds whose float value is at least
``1 - 1e-9`` are reported as exactly 1 (an upper bound: certifying them would need ``p_A_lower`` above
``1 - 1e-9``, i.e. far more than 10^9 samples), and so are all larger radii. Floats are rounded *up* from the exact value, so
:func:`lee_threshold` never returns less than the true threshold. ``β`` is read as the decimal its ``repr``
shows (``0.8`` means ``4/5``); pass a :class:`~fractions.Fraction` to be explicit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from crowd.certify._exact import Kind, exact_rho, float_up, split_regions

_SCREEN_SLACK = 1e-8
# Above this the threshold is reported as exactly 1 (a valid upper bound; no feasible sample size
# certifies it), which also keeps the exact stage from evaluating many splits that all round to 1.
_SATURATED = 1.0 - 1e-9
_TABLES: dict[tuple[Kind, ...], list[Fraction]] = {}


def normalize_kinds(kinds: Sequence[tuple[float | Fraction, int]]) -> tuple[Kind, ...]:
    """Validate ``(β, d)`` pairs, read β exactly, and merge identical kinds (their split is irrelevant)."""
    out = set()
    for beta, d in kinds:
        b = beta if isinstance(beta, Fraction) else Fraction(repr(float(beta)))
        if not 0 < b < 1 or int(d) != d or d < 2:
            raise ValueError(f"need 0 < beta < 1 and integer domain size d >= 2, got ({beta}, {d})")
        out.add(Kind(b, int(d)))
    if not out:
        raise ValueError("need at least one kind of coordinate")
    return tuple(sorted(out, key=lambda k: (k.beta, k.d)))


def _splits(radius: int, parts: int) -> list[tuple[int, ...]]:
    """All ways to write ``radius`` as an ordered sum of ``parts`` non-negative integers."""
    if parts == 1:
        return [(radius,)]
    return [(first, *rest) for first in range(radius + 1) for rest in _splits(radius - first, parts - 1)]


def _float_rho(log_p: np.ndarray, log_q: np.ndarray) -> float:
    """ρ for one split in floating point, as the Neyman–Pearson dual value at the crossing ratio."""
    keep = np.isfinite(log_p)
    log_p, log_q = log_p[keep], log_q[keep]
    ratio = log_p - log_q
    order = np.argsort(-ratio, kind="stable")
    ratio, log_p, log_q = ratio[order], log_p[order], log_q[order]
    cum_q = np.cumsum(np.exp(log_q))
    j = int(np.searchsorted(cum_q, 0.5, side="left"))
    j = min(j, ratio.size - 1)
    log_eta = ratio[j]
    gain = -np.expm1(log_eta - ratio[:j]) * np.exp(log_p[:j])
    return float(math.exp(log_eta) / 2 + gain.sum())


def _rho_at_radius(kinds: tuple[Kind, ...], radius: int) -> Fraction:
    """Exact worst-case ρ over every split of exactly ``radius`` changed coordinates among ``kinds``."""
    screened = []
    for split in _splits(radius, len(kinds)):
        log_p, log_q, _ = split_regions(kinds, split)
        screened.append((_float_rho(log_p, log_q), split))
    best = max(value for value, _ in screened)
    if best >= _SATURATED:
        return Fraction(1)
    candidates = [split for value, split in screened if value >= best - _SCREEN_SLACK]
    return max(exact_rho(kinds, split) for split in candidates)


def lee_threshold_table(max_radius: int, kinds: Sequence[tuple[float | Fraction, int]]) -> list[Fraction]:
    """Exact thresholds ``[ρ_0, ..., ρ_max_radius]`` (non-decreasing: each is the worst over ``<= r``).

    Cached per set of kinds; extending a table only computes the new radii.
    """
    if max_radius < 0:
        raise ValueError("max_radius must be >= 0")
    key = normalize_kinds(kinds)
    table = _TABLES.setdefault(key, [Fraction(1, 2)])
    for r in range(len(table), max_radius + 1):
        if table[-1] == 1:
            table.append(Fraction(1))
            continue
        table.append(max(table[-1], _rho_at_radius(key, r)))
    return table[: max_radius + 1]


def lee_threshold(radius: int, kinds: Sequence[tuple[float | Fraction, int]]) -> float:
    """Smallest ``p_A`` certifying ``radius`` changed coordinates against the ½ threshold (THEORY §3a).

    Guarantee: under keep-β noise with the given ``(keep_probability, domain_size)`` kinds, if
    ``P[f(noisy input) = c_A] > lee_threshold(r, kinds)`` then ``P[f = c_A] > 1/2`` at every input that
    differs in at most ``r`` coordinates (of any kinds, split any way). The float is the exact threshold
    rounded up, never below it. ``lee_threshold(1, [(0.8, 2)]) == 0.875``.
    """
    return float_up(lee_threshold_table(radius, kinds)[radius])


def lee_thresholds(max_radius: int, kinds: Sequence[tuple[float | Fraction, int]]) -> np.ndarray:
    """:func:`lee_threshold` for ``r = 0..max_radius`` as a float array (each rounded up)."""
    return np.array([float_up(v) for v in lee_threshold_table(max_radius, kinds)])


def lee_radius(p_lower: float, kinds: Sequence[tuple[float | Fraction, int]], max_radius: int) -> int | None:
    """Largest certified ℓ0 radius (changed coordinates, all kinds together) for a lower bound on ``p_A``.

    Certified at ``r`` iff ``p_lower > ρ_r`` (binary form, sound for any number of classes: the top class
    keeps more than half the mass). Returns ``None`` when not even radius 0 holds (``p_lower <= 1/2``),
    and at most ``max_radius``. The guarantee holds with the probability that ``p_lower`` does.
    """
    return lee_radii(np.array([p_lower]), kinds, max_radius)[0]


def lee_radii(
    p_lower: np.ndarray, kinds: Sequence[tuple[float | Fraction, int]], max_radius: int
) -> list[int | None]:
    """:func:`lee_radius` for many lower bounds at once (one table look-up)."""
    table = lee_thresholds(max_radius, kinds)
    counts = np.searchsorted(table, np.asarray(p_lower, dtype=float), side="left")
    return [None if c == 0 else int(c) - 1 for c in counts]


def closed_form_rho1(beta: float, d: int) -> float:
    """THEORY's closed form for ``r = 1``: ``β + 1/2 - θ`` if ``β <= 1/2``, else ``1 - θ + (β - 1/2)θ/β``."""
    theta = (1 - beta) / (d - 1)
    if beta <= 0.5:
        return beta + 0.5 - theta
    return 1 - theta + (beta - 0.5) * theta / beta


__all__ = [
    "closed_form_rho1",
    "lee_radii",
    "lee_radius",
    "lee_threshold",
    "lee_threshold_table",
    "lee_thresholds",
    "normalize_kinds",
]
