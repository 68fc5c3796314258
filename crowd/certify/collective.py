"""Collective certified accuracy of plurality word-partition aggregation (Pei et al., NDSS 2024, TextGuard)
— THEORY §3(d), §4.

A per-text certificate at radius ``T`` holds against ANY ``T`` changed models, a different set for every text.
A trigger of ``T`` word types is more constrained: its words fall in one fixed set ``S`` of at most ``T`` word
groups, the SAME groups in every text. So the accuracy guaranteed against every such trigger is

    min over sets S of exactly min(T, m) groups of  mean over texts of  [the text stays correct whatever S's
    models output on it]

(a smaller ``S`` gives the adversary less, so sets of exactly ``min(T, m)`` groups suffice). Inside one text
the adversary's best reply is to put all ``|S|`` outputs on one rival, or to silence them all: with ``n'_c``
the votes outside ``S``, the text stays correct iff ``n'_y >= 1`` and, for every rival ``c``,
``n'_y − n'_c − 1[c < y] >= |S|`` (ties go to the smallest class index; a text with no vote abstains and is
wrong). For ``|S| >= 1`` the rival condition already forces ``n'_y >= 1``; for ``T = 0`` this is plain
plurality accuracy. The guarantee is deterministic, in distinct word types, and holds for the ensemble's
observed votes on the texts passed (e.g. the non-target texts of the reference world). It is never below
the per-text certified accuracy at ``T`` (that one allows a different ``S`` per text). Checked against brute
force over every ``S`` and every assignment of its outputs in tests/test_certify_collective.py.

Finite Aggregation over word groups (``bucket_models``: bucket ``b`` feeds the models ``bucket_models[b]``,
:func:`crowd.certify.fa_bucket_models`): a trigger's words fall in one fixed set ``S`` of at most ``T``
buckets, and the adversary controls the union ``M(S)`` of their models, the same in every text. The rule
above holds with ``|M(S)|`` in place of ``|S|`` and the votes outside ``M(S)``; a subset of ``S`` controls a
subset of ``M(S)``, which the adversary can leave as it was, so sets of exactly ``min(T, buckets)`` buckets
still suffice. Checked the same way, over every set of buckets and every output of every model they reach.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence

import numpy as np

_BLOCK_ENTRIES = 1 << 22  # sets × texts × classes held at once


def _check(votes: np.ndarray, labels: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    votes, labels = np.asarray(votes), np.asarray(labels)
    if votes.ndim != 2 or votes.shape[0] < 1 or votes.shape[1] < 1:
        raise ValueError(f"votes must be (models >= 1, texts >= 1), got shape {votes.shape}")
    if votes.dtype.kind not in "iu" or votes.min() < -1:
        raise ValueError("votes must be integer class indices, or -1 where a model abstained")
    if labels.shape != (votes.shape[1],):
        raise ValueError(f"labels must be ({votes.shape[1]},): one true label per text, got {labels.shape}")
    if labels.dtype.kind not in "iu" or labels.min() < 0:
        raise ValueError("labels must be non-negative integer class indices")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 0:
        raise ValueError(f"budget must be an integer >= 0 (distinct word types), got {budget!r}")
    return votes.astype(np.int64), labels.astype(np.int64)


def collective_certified_accuracy(
    votes: np.ndarray,
    labels: np.ndarray,
    budget: int,
    bucket_models: Sequence[Collection[int]] | None = None,
) -> float:
    """Accuracy guaranteed against every trigger of at most ``budget`` word types (module docstring).

    ``votes`` is ``(models, texts)``, ``-1`` where a model abstained; ``labels`` ``(texts,)`` the true labels
    of the texts to score (the caller selects them, e.g. non-target texts). Plurality aggregation only.
    ``bucket_models``: for each word bucket the models it feeds (Finite Aggregation); ``None``: one model per
    group, group ``i`` feeding model ``i``. Enumerates all ``C(buckets, min(budget, buckets))`` sets exactly,
    vectorised over the texts whose per-text margin could fall (the others stay correct for every set): about
    1 s for 25 groups, budget 5 and 1,000 texts on one core, growing with ``C(buckets, budget)`` (5 s at 6).
    """
    votes, labels = _check(votes, labels, budget)
    m, n_texts = votes.shape
    reach = _reach(bucket_models, m)
    num_classes = max(2, int(votes.max()) + 1, int(labels.max()) + 1)
    size = min(int(budget), len(reach))
    # margin[j, t, c] = how model j's vote moves n_y − n_c on text t (+1 for y, −1 for c, 0 otherwise)
    for_y = votes == labels[None, :]
    against = votes[:, :, None] == np.arange(num_classes)[None, None, :]
    margin = for_y[:, :, None].astype(np.int64) - against
    rival = np.arange(num_classes)[None, :] != labels[:, None]
    slack = margin.sum(axis=0) - (np.arange(num_classes)[None, :] < labels[:, None])  # (texts, classes)
    if size == 0:
        ok = np.all((slack >= 0) | ~rival, axis=1) & for_y.any(axis=0)
        return float(np.mean(ok))
    # Controlling M models moves each n_y − n_c by at most 2M, so a text whose every rival slack is >= 2M for
    # any M a set can reach (|M(S)| <= the sizes of its buckets' model sets summed) stays correct for every
    # S. Only the other texts need the enumeration.
    most = min(m, sum(sorted(map(len, reach))[-size:]))
    safe = np.all((slack >= 2 * most) | ~rival, axis=1)
    margin, slack, rival = margin[:, ~safe], slack[~safe], rival[~safe]
    fragile = len(slack)
    if fragile == 0:
        return 1.0
    flat = margin.reshape(m, -1).astype(np.float64)  # exact: every entry is a small integer
    worst = fragile
    per_block = max(1, _BLOCK_ENTRIES // (fragile * num_classes))
    incidence = np.zeros((len(reach), m), dtype=bool)  # bucket b feeds model j
    for b, models in enumerate(reach):
        incidence[b, sorted(models)] = True
    sets = itertools.combinations(range(len(reach)), size)
    for _ in range(math.ceil(math.comb(len(reach), size) / per_block)):
        block = np.array(list(itertools.islice(sets, per_block)))
        member = incidence[block].any(axis=1).astype(np.float64)  # (sets, models): M(S)
        controlled = member.sum(axis=1).astype(np.int64)  # |M(S)|
        inside = (member @ flat).reshape(len(block), fragile, num_classes)
        left = slack[None] - np.rint(inside).astype(np.int64)  # n'_y − n'_c − 1[c < y]
        correct = np.all((left >= controlled[:, None, None]) | ~rival[None], axis=2).sum(axis=1)
        worst = min(worst, int(correct.min()))
        if worst == 0:
            break
    return (int(safe.sum()) + worst) / n_texts


def _reach(bucket_models: Sequence[Collection[int]] | None, m: int) -> list[frozenset[int]]:
    """The models of each bucket, checked: every model index in ``[0, m)``."""
    if bucket_models is None:
        return [frozenset([i]) for i in range(m)]
    reach = [frozenset(int(j) for j in models) for models in bucket_models]
    if not reach or any(not r or min(r) < 0 or max(r) >= m for r in reach):
        raise ValueError(f"bucket_models must give each bucket a non-empty set of model indices in [0, {m})")
    return reach
