"""Deep Partition Aggregation (Levine & Feizi 2021, "Deep Partition Aggregation: Provable Defenses against
General Poisoning Attacks") — THEORY §3c.

Each training example is hashed (by its content) to one of ``k`` partitions, one model is trained per
partition, and the models vote. With vote counts ``n_c`` the prediction is the class with most votes (ties
to the smallest index), and it is unchanged under ANY insertion or deletion of up to
``⌊(n_c - max_{c' != c}(n_c' + 1[c' < c])) / 2⌋`` training examples: each changes at most one partition,
hence moves at most one vote. Deterministic (no probability), and it covers every poisoning attack,
including inserted triggers, style and syntax triggers. Unit: inserted or deleted training examples; a
poisoned example that *replaces* a clean one (OpenBackdoor's default) costs 2 (see :func:`dpa_budget`).
"""

from __future__ import annotations

import numpy as np


def _counts(counts: np.ndarray) -> np.ndarray:
    arr = np.asarray(counts)
    if arr.ndim != 1 or arr.size < 2 or np.any(arr < 0):
        raise ValueError("counts must be a 1-d array of non-negative votes for at least two classes")
    return arr.astype(np.int64)


def dpa_predict(counts: np.ndarray) -> int:
    """The DPA prediction: most votes, ties broken towards the smallest class index."""
    return int(np.argmax(_counts(counts)))


def dpa_radius(counts: np.ndarray) -> int:
    """Certified number of inserted/deleted training examples for one test text's partition votes.

    ``⌊(n_c - max_{c' != c}(n_c' + 1[c' < c])) / 2⌋`` with ``c`` = :func:`dpa_predict`; always ``>= 0``.
    """
    arr = _counts(counts)
    c = int(np.argmax(arr))
    rivals = arr + (np.arange(arr.size) < c)
    rivals[c] = np.iinfo(np.int64).min
    return int((arr[c] - rivals.max()) // 2)


def dpa_radii(counts: np.ndarray) -> np.ndarray:
    """:func:`dpa_radius` for every row of a ``(texts, classes)`` vote array."""
    return np.array([dpa_radius(row) for row in np.atleast_2d(counts)], dtype=np.int64)


def dpa_budget(n_poisoned: int, replaces_clean: bool = True) -> int:
    """An attack's budget in DPA's unit: 2 per poisoned example that replaces a clean one, else 1."""
    if n_poisoned < 0:
        raise ValueError("n_poisoned must be >= 0")
    return 2 * n_poisoned if replaces_clean else n_poisoned
