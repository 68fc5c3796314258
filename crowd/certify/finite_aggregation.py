"""Finite Aggregation (Wang, Levine & Feizi, ICML 2022, "Improved Certified Defenses against Data Poisoning
with (Deterministic) Finite Aggregation") — DPA with spread ``d``.

Construction: every training example is hashed by its content to one of ``k·d`` buckets (as DPA's
partitions, with ``k·d`` in place of ``k``); there are ``k·d`` models, and bucket ``b`` feeds the ``d`` models
``(b + s) mod k·d`` for the shifts ``s`` in a fixed set of ``d`` distinct values. The paper's code draws the
shifts at random from a fixed seed; here the default is ``s = 0, 1, ..., d−1`` (bucket ``b`` feeds models
``b, ..., b+d−1``, so model ``i`` trains on buckets ``i−d+1, ..., i``), and any other fixed set may be passed.
The certificate below holds for whichever set was used, as long as the same set is passed to it.

Prediction: plurality of the ``k·d`` model votes, ties to the smallest class index.

Threat and unit: one inserted or deleted training example changes one bucket, hence the outputs of at most
the ``d`` models that bucket feeds. The radius counts **corrupted buckets** = inserted/deleted examples (for
a word-type partition, distinct word types).

Certificate (the paper's Theorem, computed as in its algorithm): for each rival ``c`` of the prediction
``y``, with gap ``G_c = n_y − n_c − 1[c < y]`` (``y`` still wins iff it stays ``>= 0``), a corrupted bucket
closes it by at most ``δ_b(c) = Σ_{models m fed by b} (1 + 1[v_m = y] − 1[v_m = c])``. Sort the ``δ_b`` in
decreasing order; ``y`` is certified against ``c`` for the largest ``r`` whose ``r`` largest ``δ`` sum to at most
``G_c``; the radius is the minimum over ``c``. A model fed by two corrupted buckets is counted twice, so
the bound is sound but not always tight. ``d = 1`` gives ``δ ∈ {0, 1, 2}`` and exactly DPA's radius.
Abstentions (vote ``-1``: a word-group model whose buckets hold none of the text's words casts no vote; a
trigger can make it vote, or a removed word make a voter abstain) count for no class: the gap is over the
votes cast, and a corrupted model that abstained moves a gap by at most 1, as a model voting for a third
class does, so ``δ`` above is unchanged (``1`` for an abstainer). An adversary who silences every voter of
``y`` needs at least the buckets of all of them, which the gap already forbids. A text on which every model
abstains abstains. Checked by exact enumeration of every output (any class or abstain) of every corrupted
model, tests/test_certify_enumeration.py.

Checked against exact enumeration (tests/test_certify_enumeration.py) over every vote configuration of
every ``(k, d)`` with ``k·d <= 7`` models and 2 or 3 classes (also with a non-consecutive shift set): never
above the brute-force radius, and equal to it in 100% of the configurations. (A one-off check of 12 models,
2 classes, ``(k, d) = (6, 2), (4, 3), (3, 4)`` was also 100% tight; larger cases were not enumerated, and the
bound can be loose when the best buckets share models.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crowd.certify.certificate import Certificate
from crowd.certify.votes import vote_gaps, vote_predict, votes_to_counts


def fa_shifts(k: int, d: int, shifts: Sequence[int] | None = None) -> tuple[int, ...]:
    """The validated shift set: ``d`` distinct values in ``[0, k·d)``; default ``(0, 1, ..., d−1)``."""
    if k < 1 or d < 1:
        raise ValueError(f"need k >= 1 and d >= 1, got k={k}, d={d}")
    if shifts is None:
        return tuple(range(d))
    out = tuple(int(s) for s in shifts)
    if len(out) != d or len(set(out)) != d or min(out) < 0 or max(out) >= k * d:
        raise ValueError(f"shifts must be {d} distinct integers in [0, {k * d}), got {list(shifts)}")
    return out


def fa_bucket_models(k: int, d: int, shifts: Sequence[int] | None = None) -> list[frozenset[int]]:
    """For each bucket ``b``, the models it feeds: ``{(b + s) mod k·d}`` over the shifts."""
    n = k * d
    return [frozenset((b + s) % n for s in fa_shifts(k, d, shifts)) for b in range(n)]


def fa_model_buckets(k: int, d: int, shifts: Sequence[int] | None = None) -> list[frozenset[int]]:
    """For each model ``i``, the ``d`` buckets it trains on: ``{(i − s) mod k·d}`` over the shifts."""
    n = k * d
    return [frozenset((i - s) % n for s in fa_shifts(k, d, shifts)) for i in range(n)]


def fa_training_sets(
    buckets: np.ndarray, k: int, d: int, shifts: Sequence[int] | None = None
) -> list[np.ndarray]:
    """Indices of the training examples of each model, from each example's content-hash bucket in ``[0, k·d)``."""
    buckets = np.asarray(buckets)
    if buckets.ndim != 1 or (buckets.size and (buckets.min() < 0 or buckets.max() >= k * d)):
        raise ValueError(f"buckets must be a 1-d array of integers in [0, {k * d})")
    return [np.flatnonzero(np.isin(buckets, sorted(bs))) for bs in fa_model_buckets(k, d, shifts)]


def fa_predict(votes: np.ndarray, num_classes: int) -> int:
    """FA prediction for one text's ``(models,)`` class votes: plurality, ties to the smallest index."""
    return vote_predict(votes_to_counts(np.asarray(votes)[None, :], num_classes)[0])


def fa_radius(
    votes: np.ndarray, k: int, d: int, num_classes: int, shifts: Sequence[int] | None = None
) -> int:
    """Certified number of corrupted buckets (= inserted/deleted training examples) for one text's votes.

    ``votes[i]`` is model ``i``'s class, or ``-1`` where it abstains (models ordered as in
    :func:`fa_model_buckets`); at least one model must vote. Always ``>= 0``.
    """
    votes = np.asarray(votes)
    n = k * d
    if votes.shape != (n,):
        raise ValueError(f"need one vote per model: shape ({n},), got {votes.shape}")
    counts = votes_to_counts(votes[votes >= 0][None, :], num_classes)[0]
    y = vote_predict(counts)
    gaps = vote_gaps(counts, y)
    shift_list = fa_shifts(k, d, shifts)
    radius = n
    for c in range(num_classes):
        if c == y:
            continue
        per_model = 1 + (votes == y).astype(np.int64) - (votes == c)
        # bucket b feeds models (b + s) mod n: δ_b = Σ_s per_model[(b + s) mod n].
        delta = sum(np.roll(per_model, -s) for s in shift_list)
        spent = np.cumsum(np.sort(delta)[::-1])
        radius = min(radius, int(np.searchsorted(spent, gaps[c], side="right")))
    return min(radius, n - 1)


def fa_certificates(
    votes: np.ndarray,
    k: int,
    d: int,
    num_classes: int,
    shifts: Sequence[int] | None = None,
    radius_key: str = "dpa",
    noise: str = "finite aggregation",
) -> list[Certificate]:
    """Deterministic FA certificates (``alpha = 0``) from ``(texts, models)`` class votes (``-1``: abstained;
    a text on which every model abstains gets an abstaining certificate).

    ``radii[radius_key]`` is :func:`fa_radius` in corrupted buckets (inserted/deleted training examples).
    """
    votes = np.atleast_2d(np.asarray(votes))
    certs = []
    for row in votes:
        cnt = votes_to_counts(row[row >= 0][None, :], num_classes)[0]
        label = vote_predict(cnt) if cnt.sum() else None  # every model abstained: the text abstains
        certs.append(
            Certificate(
                label=label,
                top_class=0 if label is None else label,
                p_lower=None,
                p_upper_runner_up=None,
                counts=tuple(int(c) for c in cnt),
                alpha=0.0,
                method="fa",
                noise=f"{noise} (k={k}, d={d})",
                radii={} if label is None else {radius_key: fa_radius(row, k, d, num_classes, shifts)},
            )
        )
    return certs
