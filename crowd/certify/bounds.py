"""Clopper–Pearson bounds and class selection that keeps the guarantee (THEORY §1).

Clopper & Pearson (1934): for ``k`` successes in ``n`` Bernoulli trials the one-sided bounds are
``p_lower = Beta.ppf(alpha; k, n-k+1)`` (0 when ``k = 0``) and ``p_upper = Beta.ppf(1-alpha; k+1, n-k)``
(1 when ``k = n``); each covers the true ``p`` with probability at least ``1 - alpha`` for every ``p``.

Choosing the top class from the counts that also bound it is only valid if the bound holds for every class
at once. Two selection methods are offered (Cohen, Rosenfeld & Kolter 2019 use the second):

``"bonferroni"``
    The top class is the argmax of the counts (ties: smallest index). Every class ``c`` gets a lower bound
    ``L_c`` at level ``alpha/K``. With probability at least ``1 - alpha`` all ``K`` bounds hold at once, so
    whatever class is selected, ``p_A >= L_A`` and every other class has ``p_c <= 1 - sum_{c' != c} L_c'``;
    the runner-up upper bound is the largest of these over ``c != A``. For ``K = 2`` it equals
    ``1 - L_A`` and the split is ``alpha/2`` per class.

``"selection"``
    The top class is the argmax of a separate, independent sample of ``n0`` selection counts; the main
    counts give ``L_A`` at level ``alpha`` and ``p_B <= 1 - L_A``. With probability at least ``1 - alpha``
    (over the main sample, for any selection outcome) ``p_A >= L_A``.

Why ``K = 2`` still splits ``alpha``: if only the *label* is claimed (radius 0), the unsplit bound suffices,
because a wrong confident label needs the minority class's one-sided bound to exceed ``1/2 >= p_minority``,
an event of probability at most ``alpha``. But every radius above 0 is a claim about the *value* of ``L_A``,
and then the majority class's bound failing (``L_A > p_A``) also produces a false claim; the two one-sided
failures are disjoint and add up to at most ``2 alpha`` (close to ``2 alpha`` for small ``N``). The split
makes every reported radius hold with probability ``1 - alpha``.

The smoothed classifier abstains unless ``L_A > U_B`` (the top class is confidently on top); an abstention
is never counted correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Side = Literal["lower", "upper"]
Method = Literal["bonferroni", "selection"]
METHODS: tuple[str, ...] = ("bonferroni", "selection")


def _check(k: np.ndarray, n: np.ndarray, alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if np.any(k < 0) or np.any(k > n) or np.any(n < 1):
        raise ValueError("need 0 <= k <= n and n >= 1")


def cp_lower(k: np.ndarray | int, n: np.ndarray | int, alpha: float) -> np.ndarray | float:
    """One-sided Clopper–Pearson lower bound: ``P[p >= cp_lower(k, n, alpha)] >= 1 - alpha`` for every p.

    Vectorised over ``k`` and ``n`` (broadcast); returns 0 where ``k == 0``.
    """
    k_arr, n_arr = np.asarray(k), np.asarray(n)
    _check(k_arr, n_arr, alpha)
    safe_k = np.maximum(k_arr, 1)
    out = np.where(k_arr == 0, 0.0, _beta().ppf(alpha, safe_k, n_arr - safe_k + 1))
    return float(out) if out.ndim == 0 else out


def cp_upper(k: np.ndarray | int, n: np.ndarray | int, alpha: float) -> np.ndarray | float:
    """One-sided Clopper–Pearson upper bound: ``P[p <= cp_upper(k, n, alpha)] >= 1 - alpha`` for every p.

    Vectorised over ``k`` and ``n`` (broadcast); returns 1 where ``k == n``.
    """
    k_arr, n_arr = np.asarray(k), np.asarray(n)
    _check(k_arr, n_arr, alpha)
    safe_k = np.minimum(k_arr, n_arr - 1)
    out = np.where(k_arr == n_arr, 1.0, _beta().ppf(1.0 - alpha, safe_k + 1, n_arr - safe_k))
    return float(out) if out.ndim == 0 else out


def clopper_pearson(k: np.ndarray | int, n: np.ndarray | int, alpha: float, side: Side) -> np.ndarray | float:
    """One-sided Clopper–Pearson bound, ``side`` = ``"lower"`` or ``"upper"`` (see :func:`cp_lower`)."""
    if side == "lower":
        return cp_lower(k, n, alpha)
    if side == "upper":
        return cp_upper(k, n, alpha)
    raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")


@dataclass(frozen=True)
class TopClassBound:
    """Selected class and its bounds for one test text (see the module docstring for the guarantee).

    ``label`` is ``None`` when the smoothed classifier abstains (``p_lower <= p_upper_runner_up``);
    ``top_class`` is the selected class either way.
    """

    top_class: int
    label: int | None
    p_lower: float
    p_upper_runner_up: float
    n: int
    alpha: float
    method: str

    @property
    def abstained(self) -> bool:
        return self.label is None


def _bonferroni(counts: np.ndarray, alpha: float) -> tuple[int, float, float]:
    num_classes = counts.size
    n = int(counts.sum())
    top = int(np.argmax(counts))
    lowers = np.asarray(cp_lower(counts, n, alpha / num_classes), dtype=float).reshape(-1)
    others = np.delete(np.arange(num_classes), top)
    # Under the simultaneous event, p_c <= 1 - sum_{c' != c} L_c'.
    upper_runner = float(min(1.0, 1.0 - lowers.sum() + lowers[others].max()))
    return top, float(lowers[top]), upper_runner


def bound_top_class(
    counts: np.ndarray,
    alpha: float,
    method: Method = "bonferroni",
    selection_counts: np.ndarray | None = None,
) -> TopClassBound:
    """Select the top class of ONE test text's vote counts and bound it (THEORY §1).

    Guarantee: with probability at least ``1 - alpha`` over the Monte Carlo sample,
    ``p_A >= p_lower`` and the largest other class probability is ``<= p_upper_runner_up``; the label
    is returned only if ``p_lower > p_upper_runner_up``, so it then equals the smoothed classifier's
    prediction with the same probability. ``method="selection"`` needs ``selection_counts`` drawn
    independently of ``counts``.
    """
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    if counts.size < 2:
        raise ValueError("need counts for at least two classes")
    n = int(counts.sum())
    if method == "bonferroni":
        if selection_counts is not None:
            raise ValueError("selection_counts is only used with method='selection'")
        top, lower, upper = _bonferroni(counts, alpha)
    elif method == "selection":
        if selection_counts is None:
            raise ValueError("method='selection' needs selection_counts from an independent sample")
        sel = np.asarray(selection_counts).reshape(-1)
        if sel.size != counts.size:
            raise ValueError("selection_counts and counts must have the same number of classes")
        top = int(np.argmax(sel))
        lower = float(cp_lower(int(counts[top]), n, alpha))
        upper = 1.0 - lower
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    label = top if lower > upper else None
    return TopClassBound(top, label, lower, upper, n, alpha, method)


def bound_top_classes(
    counts: np.ndarray,
    alpha: float,
    method: Method = "bonferroni",
    selection_counts: np.ndarray | None = None,
) -> list[TopClassBound]:
    """:func:`bound_top_class` for every row of a 2-d ``(texts, classes)`` counts array, each at ``alpha``."""
    counts = np.atleast_2d(np.asarray(counts))
    sel_rows = [None] * len(counts) if selection_counts is None else np.atleast_2d(selection_counts)
    if len(sel_rows) != len(counts):
        raise ValueError("selection_counts must have one row per text")
    return [bound_top_class(row, alpha, method, sel) for row, sel in zip(counts, sel_rows)]


def min_copies_to_certify(
    alpha: float, num_classes: int, method: Method = "bonferroni", n_selection: int = 0, limit: int = 10**7
) -> int:
    """The smallest number of models ``N`` (``n_selection`` of them choosing the class) for which a unanimous
    vote is not an abstention under :func:`bound_top_class` at ``alpha``: with fewer, every text abstains.

    Unanimity gives the largest lower bound, so below this ``N`` no certificate of any radius exists.
    """

    def certifies(n_bound: int) -> bool:
        counts = np.zeros(num_classes, dtype=np.int64)
        counts[0] = n_bound
        sel = counts if method == "selection" else None
        return not bound_top_class(counts, alpha, method, sel).abstained

    low, high = 0, 1  # certifies(low) is False (no votes), find the first n with certifies(n)
    while not certifies(high):
        low, high = high, high * 2
        if high > limit:
            raise ValueError(f"no N up to {limit} certifies at alpha={alpha}")
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if certifies(mid) else (mid, high)
    return high + (n_selection if method == "selection" else 0)


def _beta():
    """``scipy.stats.beta``, imported on first use: scipy.stats takes most of a second to import, and a
    deterministic certificate (or ``crowd predict`` with one) never needs it."""
    from scipy.stats import beta  # lazy: scipy.stats costs most of a second to import

    return beta
