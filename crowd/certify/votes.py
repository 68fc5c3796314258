"""Plurality vote-count certificate shared by DPA and word-partition aggregation — THEORY §3(c), §3(d).

Levine & Feizi (ICLR 2021, "Deep Partition Aggregation: Provable Defenses against General Poisoning
Attacks") and Pei et al. (NDSS 2024, TextGuard) both reduce poisoning to one abstract threat: **the adversary
may replace the outputs of at most ``r`` of the voting models by anything**. For DPA one inserted or deleted
training example touches one partition, so ``r`` counts inserted/deleted examples; for word partitions one
added or removed word type touches one group, so ``r`` counts distinct word types.

Prediction: the class with most votes, ties to the smallest class index. Radius (the largest ``r`` that
provably cannot change the prediction ``a``)::

    r = ⌊(n_a − max_{c ≠ a}(n_c + 1[c < a])) / 2⌋

Each changed model moves at most one vote away from ``a`` and onto a rival, closing that gap by at most 2.
Checked against exact enumeration (tests/test_certify_enumeration.py): for every multiset of at most 7 votes
over 2 or 3 classes the radius equals the brute-force minimum number of changed models minus one (tight in
100% of the configurations).

Abstentions (THEORY §3(d)): a model may cast no vote (a word group whose sub-text is empty). Counts then sum
to the votes cast, and the same radius holds: a changed model that abstained, or that now abstains, moves
one count by one, closing a gap by at most 1. A text on which every model abstains has no winner: it
abstains (:func:`vote_predict` refuses it, :func:`~crowd.certify.certificate.dpa_certificates` gives a
certificate with label ``None``), and an adversary who silences every voter makes any text abstain. Checked
in tests/test_certify_abstain.py over every vote/abstain multiset of up to 9 models and 2 to 4 classes: the
radius equals the brute-force one (any model's output changed to any class or to abstain) everywhere.
"""

from __future__ import annotations

import numpy as np


def vote_counts_1d(counts: np.ndarray) -> np.ndarray:
    """Validate one text's vote counts: 1-d, non-negative integers, at least two classes."""
    arr = np.asarray(counts)
    if arr.ndim != 1 or arr.size < 2 or np.any(arr < 0):
        raise ValueError("counts must be a 1-d array of non-negative votes for at least two classes")
    if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
        raise ValueError("counts must be whole numbers of votes")
    return arr.astype(np.int64)


def votes_cast(counts: np.ndarray) -> bool:
    """Whether any model voted (``False``: every model abstained, so the text abstains)."""
    return bool(vote_counts_1d(counts).sum() > 0)


def vote_predict(counts: np.ndarray) -> int:
    """The plurality prediction: most votes, ties broken towards the smallest class index.

    Raises ``ValueError`` when no vote was cast (the text abstains; check :func:`votes_cast` first).
    """
    arr = vote_counts_1d(counts)
    if arr.sum() == 0:
        raise ValueError("no vote was cast (every model abstained): the text abstains, it has no winner")
    return int(np.argmax(arr))


def vote_gaps(counts: np.ndarray, winner: int) -> np.ndarray:
    """``n_w − n_c − 1[c < w]`` for every class ``c`` (``w`` keeps beating ``c`` iff it is ``>= 0``).

    The winner's own entry is a large sentinel so that ``min`` ranges over rivals only.
    """
    arr = vote_counts_1d(counts)
    gaps = arr[winner] - arr - (np.arange(arr.size) < winner)
    gaps[winner] = np.iinfo(np.int64).max // 4
    return gaps


def vote_radius(counts: np.ndarray) -> int:
    """Certified number of models whose outputs may change without changing :func:`vote_predict`.

    ``⌊(n_a − max_{c ≠ a}(n_c + 1[c < a])) / 2⌋`` over the votes cast, always ``>= 0``; a change may also
    turn a vote into an abstention or back. Needs at least one vote (see :func:`votes_cast`). Unit: that of
    the aggregation (DPA: inserted/deleted training examples; word partitions: distinct word types added or
    removed).
    """
    winner = vote_predict(counts)
    return int(vote_gaps(counts, winner).min() // 2)


def vote_radii(counts: np.ndarray) -> np.ndarray:
    """:func:`vote_radius` for every row of a ``(texts, classes)`` vote-count array."""
    return np.array([vote_radius(row) for row in np.atleast_2d(counts)], dtype=np.int64)


def votes_to_counts(votes: np.ndarray, num_classes: int) -> np.ndarray:
    """``(texts, classes)`` counts from ``(texts, models)`` per-model class votes in ``[0, num_classes)``."""
    votes = np.atleast_2d(np.asarray(votes))
    if votes.dtype.kind not in "iu":
        raise ValueError(f"votes must be integer class indices, got dtype {votes.dtype}")
    if num_classes < 2:
        raise ValueError("num_classes must be >= 2")
    if votes.size and (votes.min() < 0 or votes.max() >= num_classes):
        raise ValueError(f"votes must lie in [0, {num_classes}); got range [{votes.min()}, {votes.max()}]")
    counts = np.zeros((votes.shape[0], num_classes), dtype=np.int64)
    rows = np.repeat(np.arange(votes.shape[0]), votes.shape[1])
    np.add.at(counts, (rows, votes.ravel()), 1)
    return counts
