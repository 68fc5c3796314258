"""Shared part of the two synonym-substitution smoothing methods (CROWD and SAFER noise).

Copy ``j`` replaces every training word (and, with ``noise_test``, every test word) by a draw from the
method's distribution over its perturbation set, with ``rng(seed, "train-noise", j)`` /
``rng(seed, "test-noise", j)``, then word-piece encodes. Certificate ``tv`` (THEORY §3(b)): radius in
synonym substitutions in the training texts, from the largest per-position total variations over the
training words, for the noise actually sampled. Reference world: the clean training set; an attack
that inserts words or flips labels is outside this unit and reported as not covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from crowd.attacks.budget import attack_budget
from crowd.certify import tv_radius_fn
from crowd.methods.base import Context, Plan, measured_budget, smoothed_certifier
from crowd.seeding import rng
from crowd.train import CopyData

UNIT = "synonym substitutions in the training texts"


@dataclass(frozen=True)
class SynonymSmoothing:
    """Base of :class:`~crowd.methods.crowd.Crowd` and :class:`~crowd.methods.safer.Safer`.

    ``graph``: a saved synonym graph (``crowd synonyms build --out``); unset = the default graph.
    ``noise_test``: perturb the test text too (CROWD and SAFER do).
    """

    uses_graph: ClassVar[bool] = True
    graph: str | None = None
    noise_test: bool = True

    def noise(self, graph, progress: bool = False):
        raise NotImplementedError

    def plan(self, ctx: Context) -> Plan:
        noise = self.noise(ctx.graph, ctx.progress)
        words = ctx.words
        tv = np.sort(position_tv(noise, words.train))[::-1][: ctx.max_radius + 1]
        fns = [{"tv": tv_radius_fn(tv, ctx.max_radius)}] * len(words.test)
        description = f"{self.name} synonym substitution over {ctx.graph!r}"
        budget, reason = measured_budget(ctx.budget_corpus, lambda: self._budget(ctx))
        return Plan(
            make_copy=self._copies(noise, ctx),
            n_models=ctx.n_copies,
            certificate="tv",
            unit=UNIT,
            noise=description,
            budget=budget,
            not_covered_reason=reason,
            certify=smoothed_certifier(description, fns, ctx.corpus.num_labels),
            deterministic=False,
            covers_labels=False,
        )

    def _copies(self, noise, ctx: Context):

        words, encoder, seed = ctx.words, ctx.encoder, ctx.seed
        clean_test = encoder.encode(words.test) if not self.noise_test else None

        def make_copy(j: int) -> CopyData:
            train_ids, train_mask = encoder.encode(noise.perturb(words.train, rng(seed, "train-noise", j)))
            if self.noise_test:
                test_ids, test_mask = encoder.encode(noise.perturb(words.test, rng(seed, "test-noise", j)))
            else:
                test_ids, test_mask = clean_test
            return CopyData(train_ids, train_mask, words.train_labels.copy(), test_ids, test_mask)

        return make_copy

    @staticmethod
    def _budget(ctx: Context) -> tuple[int | None, str]:
        c = ctx.budget_corpus
        b = attack_budget(list(c.train_clean), list(c.train), graph=ctx.graph)
        if b.n_label_flips or b.non_synonym_edits:
            return None, (
                f"the attack made {b.non_synonym_edits} non-synonym word edits and {b.n_label_flips} label "
                "flips in the training set; synonym noise smooths neither, so this certificate cannot cover it"
            )
        return int(b.synonym_substitutions or 0), ""


def position_tv(noise, corpus) -> np.ndarray:
    """The largest TV of ``noise`` for a substitution at each position of ``corpus`` (a
    :class:`crowd.text.WordCorpus`; positions grouped by word), what the TV certificate bounds."""
    ids, counts = np.unique(corpus.ids, return_counts=True)
    return np.repeat(noise.max_tv_array([corpus.vocab[i] for i in ids]), counts)
