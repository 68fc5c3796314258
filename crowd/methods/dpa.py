"""Deep Partition Aggregation (Levine & Feizi, ICLR 2021; THEORY §3(c)), with Finite Aggregation and
run-off election as options.

Training example ``e`` goes to bucket ``sha256(label, text) mod B`` (a content hash, so inserting, deleting
or changing one example moves no other). DPA: ``B = k`` partitions, one model each. Finite Aggregation
(Wang, Levine, Feizi, ICML 2022; ``spread = d > 1``): ``B = k·d`` buckets and ``k·d`` models, model ``i``
trained on the ``d`` buckets ``i − d + 1 .. i`` (mod ``k·d``), so one example reaches ``d`` models. The test
text is given as is. Certificate ``dpa``: deterministic (no α, no abstention), radius in training examples
inserted or deleted (a poisoned row that replaces a clean one counts 2): the vote-count formula
``⌊(n_c − max_{c'≠c}(n_{c'} + 1[c' < c]))/2⌋`` for plurality, FA's bucket bound for ``spread > 1``, or the
run-off election bound over each model's logits (``aggregation = "runoff"``, Rezaei et al., ICML 2023).
Reference world: the clean training set. It covers every poisoning attack, but with ``k`` partitions the
radius is at most about ``k/2``, so it certifies small poison budgets only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from crowd.attacks.budget import attack_budget
from crowd.certify import fa_model_buckets
from crowd.data import Example
from crowd.methods.base import (
    Certifier,
    Context,
    Plan,
    Reader,
    aggregate_certifier,
    check_aggregation,
    measured_budget,
    memo_last,
)
from crowd.train import CopyData
from crowd.train.data import ModelInputs, check_class_weight, class_weights

UNIT = "training examples inserted or deleted (a changed example counts 2)"


def partition_of(example: Example, n_partitions: int) -> int:
    """DPA's partition of a training example: a hash of its content (label and text), never of its position."""
    digest = hashlib.sha256(f"{example.label}\t{example.text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % n_partitions


@dataclass(frozen=True)
class DPA:
    """``[method] name = "dpa"``: ``partitions`` k (≥ 2), ``spread`` d (1 = DPA, > 1 = Finite Aggregation with
    ``k·d`` models), ``aggregation`` (``"plurality"`` or ``"runoff"``; run-off needs ``spread = 1``),
    ``class_weight`` (``"balanced"``: each model weights its rows by its own partition's label counts, so a
    partition where the attacker's relabelled rows made the target the majority does not lean to it;
    ``"none"``). Every partition is non-empty (an empty one is refused), so no model abstains."""

    name: ClassVar[str] = "dpa"
    uses_graph: ClassVar[bool] = False
    uses_noise: ClassVar[bool] = False
    paper_note: ClassVar[str] = (
        "not in the paper (our extension): partition aggregation, deterministic; its unit, inserted/deleted "
        "training examples, covers every attack here (a poisoned row that replaces a clean one counts 2)"
    )
    partitions: int = 50
    spread: int = 1
    aggregation: str = "plurality"
    class_weight: str = "balanced"

    def __post_init__(self) -> None:
        if self.partitions < 2:
            raise ValueError(f"partitions must be >= 2, got {self.partitions}")
        if self.spread < 1:
            raise ValueError(f"spread must be >= 1, got {self.spread}")
        check_class_weight(self.class_weight)
        check_aggregation(self.aggregation)

    @property
    def n_models(self) -> int:
        return self.partitions * self.spread

    def votes_identity(self, graph) -> dict:
        return {}

    @property
    def description(self) -> str:
        kind = f"finite aggregation (k={self.partitions}, d={self.spread})" if self.spread > 1 else "DPA"
        return f"partition aggregation ({kind}), {self.n_models} models by content hash, {self.aggregation}"

    def certifier(self, num_labels: int, kept: dict, graph=None) -> Certifier:
        """How the models' votes (and logits, for run-off) on any texts become certificates."""
        return aggregate_certifier(
            self.aggregation, "dpa", self.description, num_labels, (self.partitions, self.spread)
        )

    def reader(self, encoder, seed: int, graph, num_labels: int) -> Reader:
        """Every model sees the texts as they are, encoded."""
        encoded = memo_last(lambda texts: ModelInputs(*encoder.encode(texts)))
        return lambda j, texts: encoded(texts)

    def plan(self, ctx: Context) -> Plan:
        noise = self.description
        corpus, attacked = ctx.corpus, ctx.budget_corpus
        budget, reason = measured_budget(
            attacked,
            lambda: (attack_budget(list(attacked.train_clean), list(attacked.train)).n_insert_delete, ""),
        )
        return Plan(
            make_copy=self._copies(ctx),
            n_models=self.n_models,
            certificate="dpa",
            unit=UNIT,
            noise=noise,
            budget=budget,
            not_covered_reason=reason,
            certify=self.certifier(corpus.num_labels, {}),
            deterministic=True,
            covers_labels=True,
            one_model_per_group=True,
            needs_logits=self.aggregation == "runoff",
        )

    def _copies(self, ctx: Context):

        train = ctx.corpus.train
        buckets = np.array([partition_of(e, self.n_models) for e in train])
        members = fa_model_buckets(self.partitions, self.spread)
        empty = sorted(set(range(self.n_models)) - set(buckets.tolist()))
        if empty:
            raise ValueError(
                f"method.partitions = {self.partitions} (x spread {self.spread}) buckets of {len(train)} "
                f"training examples leave bucket(s) {empty[:5]} empty; use fewer partitions"
            )
        train_ids, train_mask = ctx.encoder.encode(ctx.words.train)
        test = self.reader(ctx.encoder, ctx.seed, ctx.graph, ctx.corpus.num_labels)(0, ctx.words.test)
        labels = ctx.words.train_labels

        def make_copy(j: int) -> CopyData:
            rows = np.flatnonzero(np.isin(buckets, sorted(members[j])))
            weights = class_weights(labels[rows], ctx.corpus.num_labels, self.class_weight)
            return CopyData(train_ids[rows], train_mask[rows], labels[rows], test.ids, test.mask, weights)

        return make_copy
