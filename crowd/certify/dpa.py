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

from crowd.certify.votes import vote_predict, vote_radii, vote_radius

# DPA's prediction and radius are the plurality vote-count certificate (:mod:`crowd.certify.votes`).
dpa_predict = vote_predict
dpa_radius = vote_radius
dpa_radii = vote_radii


def dpa_budget(n_poisoned: int, replaces_clean: bool = True) -> int:
    """An attack's budget in DPA's unit: 2 per poisoned example that replaces a clean one, else 1."""
    if n_poisoned < 0:
        raise ValueError("n_poisoned must be >= 0")
    return 2 * n_poisoned if replaces_clean else n_poisoned
