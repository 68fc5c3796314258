"""Exact integer arithmetic for the keep-β ℓ0 threshold (helpers of :mod:`crowd.certify.lee`).

For one kind with ``β = a/b`` and domain ``d``, every per-coordinate probability is an integer over
``D = b (d-1)``: keep ``A = a (d-1)``, become the attacker's value ``B = b - a``, become another value
``C = (b - a)(d - 2)``. A changed coordinate's noisy value contributes ``u = +1`` (equals ``x_i``),
``u = -1`` (equals ``x'_i``) or ``u = 0``; the mass of ``u`` summed over ``r`` coordinates is an integer
polynomial coefficient over ``D^r``, and the mass under ``x'`` of ``u`` is the mass under ``x`` of ``-u``.
Regions with the same ``u`` share the likelihood ratio, so they are merged.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class Kind:
    """One kind of coordinate: keep probability ``beta`` (exact) and domain size ``d``."""

    beta: Fraction
    d: int

    @property
    def weights(self) -> tuple[int, int, int]:
        """Integer numerators ``(B, C, A)`` for ``u = -1, 0, +1`` over :attr:`denominator`."""
        a, b = self.beta.numerator, self.beta.denominator
        return (b - a, (b - a) * (self.d - 2), a * (self.d - 1))

    @property
    def denominator(self) -> int:
        return self.beta.denominator * (self.d - 1)


@functools.cache
def kind_ints(kind: Kind, r: int) -> tuple[int, ...]:
    """Numerators over ``D^r`` of the mass of ``u = -r..r`` under ``x`` for ``r`` changed coordinates."""
    if r == 0:
        return (1,)
    prev = kind_ints(kind, r - 1)
    b, c, a = kind.weights
    out = [0] * (2 * r + 1)
    for i, v in enumerate(prev):
        out[i] += b * v
        out[i + 1] += c * v
        out[i + 2] += a * v
    return tuple(out)


@functools.cache
def kind_logs(kind: Kind, r: int) -> np.ndarray:
    """Natural logs of :func:`kind_ints` masses (``-inf`` for zero mass); ``math.log`` is exact to ~1 ulp."""
    log_den = r * math.log(kind.denominator)
    values = [math.log(v) - log_den if v > 0 else -math.inf for v in kind_ints(kind, r)]
    arr = np.array(values, dtype=float)
    arr.setflags(write=False)
    return arr


def split_regions(kinds: tuple[Kind, ...], split: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, int]:
    """Float log-masses under ``x`` and ``x'`` of the merged regions of one split, and the region count.

    Regions are flattened in ``itertools.product`` order over the kinds' ``u`` values.
    """
    log_p = np.zeros(1)
    log_q = np.zeros(1)
    for kind, r in zip(kinds, split):
        logs = kind_logs(kind, r)
        log_p = np.add.outer(log_p, logs).ravel()
        log_q = np.add.outer(log_q, logs[::-1]).ravel()
    return log_p, log_q, log_p.size


def _split_ints(kinds: tuple[Kind, ...], split: tuple[int, ...]) -> tuple[list[int], list[int], int]:
    per_kind = [kind_ints(kind, r) for kind, r in zip(kinds, split)]
    p_ints = [math.prod(combo) for combo in itertools.product(*per_kind)]
    q_ints = [math.prod(combo) for combo in itertools.product(*[v[::-1] for v in per_kind])]
    total = math.prod(kind.denominator**r for kind, r in zip(kinds, split))
    return p_ints, q_ints, total


def _walk(p_ints, q_ints, total, indices, p_gt, q_gt) -> Fraction | None:
    """Walk ``indices`` in exact descending likelihood ratio from the masses ``(p_gt, q_gt)`` above them."""
    ratios = {i: Fraction(p_ints[i], q_ints[i]) for i in indices}
    ordered = sorted(indices, key=lambda i: ratios[i], reverse=True)
    for eta, group in itertools.groupby(ordered, key=lambda i: ratios[i]):
        members = list(group)
        q_group = sum(q_ints[i] for i in members)
        if 2 * q_gt <= total <= 2 * (q_gt + q_group):
            # Neyman–Pearson: fill all regions with a larger ratio, then part of this tie group.
            return (p_gt + eta * (Fraction(total, 2) - q_gt)) / total
        p_gt += sum(p_ints[i] for i in members)
        q_gt += q_group
    return None


def exact_rho(kinds: tuple[Kind, ...], split: tuple[int, ...], tol: float = 1e-6) -> Fraction:
    """Exact ρ for one split: largest mass under ``x`` of a region set with mass ``<= 1/2`` under ``x'``.

    The float ordering only locates the crossing; regions whose float log-ratio is within ``tol`` of it
    (float error is below ``1e-11``) are ordered exactly, so the result is exact.
    """
    log_p, log_q, _ = split_regions(kinds, split)
    p_ints, q_ints, total = _split_ints(kinds, split)
    live = np.flatnonzero(np.isfinite(log_p))
    ratio = log_p[live] - log_q[live]
    order = np.argsort(-ratio, kind="stable")
    cum_q = np.cumsum(np.exp(log_q[live][order]))
    j = min(int(np.searchsorted(cum_q, 0.5)), order.size - 1)
    cross = ratio[order[j]]
    above = live[ratio > cross + tol]
    near = [int(i) for i in live[np.abs(ratio - cross) <= tol]]
    p_gt = sum(p_ints[i] for i in above)
    q_gt = sum(q_ints[i] for i in above)
    result = _walk(p_ints, q_ints, total, near, p_gt, q_gt)
    if result is None:  # float screening was off: order every region exactly
        result = _walk(p_ints, q_ints, total, [int(i) for i in live], 0, 0)
    if result is None:
        raise ArithmeticError("no Neyman–Pearson crossing found; masses do not sum to one")
    return result


def float_up(value: Fraction) -> float:
    """The smallest float ``>= value``."""
    f = float(value)
    if Fraction(f) < value:
        f = math.nextafter(f, math.inf)
    return f
