"""Shared part of the two synonym-substitution smoothing methods (CROWD and SAFER noise).

Copy ``j`` replaces every training word by a draw from the method's distribution over its perturbation set,
with ``rng(seed, "train-noise", j)``, and, with ``noise_test``, every word of a test text with per-text draws
(:class:`crowd.seeding.TextDraws` keyed by ``(seed, j)`` and the text: the same noisy copy of a text in any
test set, and for a kept classifier's new texts), then word-piece encodes. Certificate ``tv`` (THEORY §3(b)): radius in
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
from crowd.methods.base import (
    Certifier,
    Context,
    Plan,
    Reader,
    measured_budget,
    memo_last,
    smoothed_certifier,
    text_keys,
    word_draws,
)
from crowd.seeding import rng
from crowd.text import WordCorpus
from crowd.train import CopyData
from crowd.train.data import ModelInputs

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
        kept = {"tv": tv.tolist(), "max_radius": ctx.max_radius}
        budget, reason = measured_budget(ctx.budget_corpus, lambda: self._budget(ctx))
        return Plan(
            make_copy=self._copies(noise, ctx),
            n_models=ctx.n_copies,
            certificate="tv",
            unit=UNIT,
            noise=f"{self.name} synonym substitution over {ctx.graph!r}",
            budget=budget,
            not_covered_reason=reason,
            certify=self.certifier(ctx.corpus.num_labels, kept),
            deterministic=False,
            covers_labels=False,
            kept=kept,
        )

    def certifier(self, num_labels: int, kept: dict) -> Certifier:
        """Monte Carlo certificates with the ``tv`` radius from the training words' largest per-position TVs
        (``kept["tv"]``, computed from the training set when the models were trained)."""
        fns = {"tv": tv_radius_fn(np.asarray(kept["tv"], dtype=np.float64), kept["max_radius"])}
        return smoothed_certifier(f"{self.name} synonym substitution", fns, num_labels)

    def reader(self, encoder, seed: int, graph, num_labels: int) -> Reader:
        return self._reader(self.noise(graph) if self.noise_test else None, encoder, seed)

    def _reader(self, noise, encoder, seed: int) -> Reader:
        """Model ``j`` sees each text with every word replaced by a draw of the noise (``noise_test``), the
        draws a function of ``(seed, j)`` and the text alone (:class:`crowd.seeding.TextDraws`); else as is."""
        keys = memo_last(text_keys)
        clean = memo_last(lambda texts: ModelInputs(*encoder.encode(texts)))

        def read(j: int, texts: WordCorpus) -> ModelInputs:
            if noise is None:
                return clean(texts)
            draws = word_draws(seed, "test-noise", j, texts, keys(texts))
            return ModelInputs(*encoder.encode(noise.perturb(texts, draws)))

        return read

    def _copies(self, noise, ctx: Context):

        words, encoder, seed = ctx.words, ctx.encoder, ctx.seed
        read = self._reader(noise if self.noise_test else None, encoder, seed)

        def make_copy(j: int) -> CopyData:
            train_ids, train_mask = encoder.encode(noise.perturb(words.train, rng(seed, "train-noise", j)))
            test = read(j, words.test)
            return CopyData(train_ids, train_mask, words.train_labels.copy(), test.ids, test.mask)

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
