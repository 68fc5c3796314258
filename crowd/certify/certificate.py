"""Per-test-text certificate objects and the function that produces them from vote counts.

A :class:`Certificate` records the smoothed prediction (or an abstention), the confidence bounds, the
certified radius for each certificate kind in its own unit, and the noise and ``alpha`` it holds for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

import numpy as np

from crowd.certify.bounds import Method, TopClassBound, bound_top_class
from crowd.certify.dpa import dpa_predict, dpa_radius
from crowd.certify.lee import lee_radius
from crowd.certify.lee_multiclass import lee_radius_multiclass
from crowd.certify.tv import tv_radius
from crowd.certify.votes import votes_cast

RadiusFn = Callable[[TopClassBound], "int | None"]


@dataclass(frozen=True)
class Certificate:
    """The certified outcome for one test text.

    ``label`` is ``None`` (and ``abstained`` true) when no class is confidently on top; ``radii`` maps a
    certificate kind (e.g. ``"lee"``, ``"tv"``, ``"dpa"``) to the largest certified radius in that kind's
    unit, ``None`` when not even radius 0 holds in that kind, and is empty for abstentions. Each radius holds
    with probability at least ``1 - alpha`` (``alpha = 0``: deterministic) under ``noise``.
    """

    label: int | None
    top_class: int
    p_lower: float | None
    p_upper_runner_up: float | None
    counts: tuple[int, ...]
    alpha: float
    method: str
    noise: str
    radii: Mapping[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "radii", MappingProxyType(dict(self.radii)))

    @property
    def abstained(self) -> bool:
        return self.label is None

    def radius(self, kind: str) -> int | None:
        """Certified radius of ``kind``; ``None`` if abstained or not certified even at radius 0."""
        if self.abstained:
            return None
        if kind not in self.radii:
            raise KeyError(f"no {kind!r} certificate here; kinds: {sorted(self.radii)}")
        return self.radii[kind]


def lee_radius_fn(
    kinds: Sequence[tuple[float | Fraction, int]], max_radius: int, multiclass: bool = False
) -> RadiusFn:
    """Radius function for :func:`certify_counts`: ℓ0 radius (changed coordinates) under keep-β noise.

    ``multiclass=False``: binary-form condition ``p_lower > ρ_r`` (cached table, sound for any K);
    ``True``: worst-case top-class mass against best-case runner-up mass (tighter for K > 2, slower).
    """
    if multiclass:
        return lambda bound: lee_radius_multiclass(bound.p_lower, bound.p_upper_runner_up, kinds, max_radius)
    return lambda bound: lee_radius(bound.p_lower, kinds, max_radius)


def tv_radius_fn(per_position_tv: np.ndarray, max_radius: int) -> RadiusFn:
    """Radius function for :func:`certify_counts`: synonym substitutions from per-position TV values."""
    tv = np.asarray(per_position_tv, dtype=float)
    return lambda bound: tv_radius(bound.p_lower, bound.p_upper_runner_up, tv, max_radius)


def certify_counts(
    counts: np.ndarray,
    alpha: float,
    noise: str,
    radius_fns: Mapping[str, RadiusFn],
    method: Method = "bonferroni",
    selection_counts: np.ndarray | None = None,
    simultaneous: bool = False,
) -> list[Certificate]:
    """Certificates for every row of a ``(texts, classes)`` Monte Carlo counts array (THEORY §1, §3).

    Each text's class is selected and bounded by :func:`~crowd.certify.bounds.bound_top_class` at level
    ``alpha`` (or ``alpha / texts`` when ``simultaneous``: then ALL certificates of the test set hold at once
    with probability ``1 - alpha``, Wang et al.; otherwise each holds with probability ``1 - alpha``).
    ``radius_fns`` maps a kind name to a function of the bound, e.g. :func:`lee_radius_fn`; for radius
    functions that differ per text (per-text TV values) use :func:`certify_rows`.
    """
    counts = np.atleast_2d(np.asarray(counts))
    per_text = alpha / len(counts) if simultaneous else alpha
    sel_rows = [None] * len(counts) if selection_counts is None else np.atleast_2d(selection_counts)
    return [_certify_one(row, per_text, noise, radius_fns, method, sel) for row, sel in zip(counts, sel_rows)]


def certify_rows(
    counts: np.ndarray,
    alpha: float,
    noise: str,
    radius_fns_per_text: Sequence[Mapping[str, RadiusFn]],
    method: Method = "bonferroni",
    selection_counts: np.ndarray | None = None,
    simultaneous: bool = False,
) -> list[Certificate]:
    """Like :func:`certify_counts` with different radius functions per text (e.g. per-text TV values)."""
    counts = np.atleast_2d(np.asarray(counts))
    if len(radius_fns_per_text) != len(counts):
        raise ValueError("need one mapping of radius functions per text")
    per_text = alpha / len(counts) if simultaneous else alpha
    sel_rows = [None] * len(counts) if selection_counts is None else np.atleast_2d(selection_counts)
    return [
        _certify_one(row, per_text, noise, fns, method, sel)
        for row, fns, sel in zip(counts, radius_fns_per_text, sel_rows)
    ]


def _certify_one(row, alpha, noise, radius_fns, method, selection) -> Certificate:
    bound = bound_top_class(row, alpha, method, selection)
    radii = {} if bound.abstained else {kind: fn(bound) for kind, fn in radius_fns.items()}
    return Certificate(
        label=bound.label,
        top_class=bound.top_class,
        p_lower=bound.p_lower,
        p_upper_runner_up=bound.p_upper_runner_up,
        counts=tuple(int(c) for c in row),
        alpha=alpha,
        method=method,
        noise=noise,
        radii=radii,
    )


def dpa_certificates(
    votes: np.ndarray, noise: str = "partition aggregation (DPA)", radius_key: str = "dpa"
) -> list[Certificate]:
    """Deterministic plurality certificates (``alpha = 0``) from ``(texts, classes)`` vote counts.

    ``radii[radius_key]`` is :func:`~crowd.certify.votes.vote_radius` over the votes cast, in the
    aggregation's unit (``"dpa"``: inserted/deleted training examples; ``"textguard"``: distinct word types,
    THEORY §3(d)). A text whose counts are all zero (every model abstained) gets an abstaining certificate:
    ``label`` is ``None``, ``radii`` is empty and ``top_class`` is 0 (no class was voted for).
    """
    return [_plurality_certificate(row, noise, radius_key) for row in np.atleast_2d(votes)]


def _plurality_certificate(row: np.ndarray, noise: str, radius_key: str) -> Certificate:
    cast = votes_cast(row)
    label = dpa_predict(row) if cast else None
    return Certificate(
        label=label,
        top_class=0 if label is None else label,
        p_lower=None,
        p_upper_runner_up=None,
        counts=tuple(int(c) for c in row),
        alpha=0.0,
        method="dpa",
        noise=noise,
        radii={radius_key: dpa_radius(row)} if cast else {},
    )
