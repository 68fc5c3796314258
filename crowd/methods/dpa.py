"""Deep Partition Aggregation (Levine & Feizi, ICLR 2021; THEORY §3(c)).

Training example ``e`` goes to partition ``sha256(label, text) mod k`` (a content hash, so inserting,
deleting or changing one example moves no other), one model is trained per partition, and the test text
is given as is. Certificate ``dpa``: deterministic (no α, no abstention), radius
``⌊(n_c − max_{c'≠c}(n_{c'} + 1[c' < c]))/2⌋`` in training examples inserted or deleted (a poisoned row
that replaces a clean one counts 2). Reference world: the clean training set. It covers every poisoning
attack (inserted triggers, paraphrases, label flips), but with ``k`` partitions the radius is at most
``k/2``, so it certifies small poison budgets only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from crowd.attacks.budget import attack_budget
from crowd.certify import dpa_certificates
from crowd.data import Example
from crowd.methods.base import Context, Plan, Statistics, measured_budget, vote_counts

UNIT = "training examples inserted or deleted (a changed example counts 2)"


def partition_of(example: Example, n_partitions: int) -> int:
    """DPA's partition of a training example: a hash of its content (label and text), never of its position."""
    digest = hashlib.sha256(f"{example.label}\t{example.text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % n_partitions


@dataclass(frozen=True)
class DPA:
    """``[method] name = "dpa"``: ``partitions`` (the number of models, ≥ 2)."""

    name: ClassVar[str] = "dpa"
    paper_note: ClassVar[str] = (
        "not in the paper (our extension): partition aggregation, deterministic; its unit, inserted/deleted "
        "training examples, covers every attack here (a poisoned row that replaces a clean one counts 2)"
    )
    uses_graph: ClassVar[bool] = False
    partitions: int = 50

    def __post_init__(self) -> None:
        if self.partitions < 2:
            raise ValueError(f"partitions must be >= 2, got {self.partitions}")

    def votes_identity(self, graph) -> dict:
        return {}

    def plan(self, ctx: Context) -> Plan:
        noise = f"partition aggregation (DPA), {self.partitions} partitions by content hash"
        num_labels = ctx.corpus.num_labels

        def certify(votes: np.ndarray, stats: Statistics):
            return dpa_certificates(vote_counts(votes, num_labels), noise)

        budget, reason = measured_budget(
            ctx.corpus,
            lambda: (attack_budget(list(ctx.corpus.train_clean), list(ctx.corpus.train)).n_insert_delete, ""),
        )
        return Plan(
            make_copy=self._copies(ctx),
            n_models=self.partitions,
            certificate="dpa",
            unit=UNIT,
            noise=noise,
            budget=budget,
            not_covered_reason=reason,
            certify=certify,
            deterministic=True,
            one_model_per_group=True,
        )

    def _copies(self, ctx: Context):
        from crowd.train import CopyData

        train = ctx.corpus.train
        parts = np.array([partition_of(e, self.partitions) for e in train])
        empty = sorted(set(range(self.partitions)) - set(parts.tolist()))
        if empty:
            raise ValueError(
                f"method.partitions = {self.partitions} partitions of {len(train)} training examples leaves "
                f"partition(s) {empty[:5]} empty; use fewer partitions"
            )
        train_ids, train_mask = ctx.encoder.encode(ctx.words.train)
        test_ids, test_mask = ctx.encoder.encode(ctx.words.test)
        labels = ctx.words.train_labels

        def make_copy(j: int) -> CopyData:
            rows = np.flatnonzero(parts == j)
            return CopyData(train_ids[rows], train_mask[rows], labels[rows], test_ids, test_mask)

        return make_copy
