"""Shared part of the two synonym-substitution smoothing methods (CROWD and SAFER noise).

Copy ``j`` replaces every training word by a draw from the method's distribution over its perturbation set,
with ``rng(seed, "train-noise", j)``, and, with ``noise_test``, every word of a test text with per-text draws
(:class:`crowd.seeding.TextDraws` keyed by ``(seed, j)`` and the text: the same noisy copy of a text in any
test set, and for a kept classifier's new texts), then word-piece encodes. Certificate ``tv`` (THEORY §3(b)): radius in
synonym substitutions in the training texts, from the largest per-position total variations over the
training words, for the noise actually sampled. Reference world: the clean training set; an attack
that inserts words or flips labels is outside this unit and reported as not covered.

With ``noise_test`` the same votes also give a **test-side** certificate ``test_tv`` (THEORY §3, "Test-side
certificates"): the radius in synonym substitutions in the test text itself, from the largest per-position
TVs of that text's own words, whatever the training set was. The two are reported side by side, never merged.
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
    TestSide,
    measured_budget,
    memo_last,
    smoothed_certifier,
    text_keys,
    word_draws,
)
from crowd.seeding import rng
from crowd.text import WordCorpus, split_words
from crowd.train import CopyData
from crowd.train.data import ModelInputs

UNIT = "synonym substitutions in the training texts"
TEST_UNIT = "synonym substitutions in the test text"
TEST_KIND = "test_tv"
TRAININGS = ("copies", "augmented")
AUGMENTED_REASON = (
    "one model trained on noise-augmented copies (training = 'augmented') has no training-side certificate: "
    "its certificate is the test side's, in substitutions of the test text"
)
TEST_NOT_COVERED = (
    "the trigger inserts, deletes or moves words, or substitutes a word by one outside its synonym set: a "
    "test-side synonym certificate covers substitutions of a text's words by their synonyms only"
)


@dataclass(frozen=True)
class SynonymSmoothing:
    """Base of :class:`~crowd.methods.crowd.Crowd` and :class:`~crowd.methods.safer.Safer`.

    ``graph``: a saved synonym graph (``crowd synonyms build --out``); unset = the default graph.
    ``noise_test``: perturb the test text too (CROWD and SAFER do).
    ``training``: ``"copies"`` (N models, one per noisy copy of the training set: both certificates) or
    ``"augmented"`` (SAFER's and CROWD's released training: one model trained on ``augment`` noisy copies of
    the training set, a fresh one per pass, then asked about N noisy copies of each test text; the test side
    only, since one model trained on many copies has no training-side certificate).
    """

    uses_graph: ClassVar[bool] = True
    uses_noise: ClassVar[bool] = True
    graph: str | None = None
    noise_test: bool = True
    training: str = "copies"
    augment: int = 8

    def __post_init__(self) -> None:
        if self.training not in TRAININGS:
            raise ValueError(f"training must be one of {', '.join(TRAININGS)}, got {self.training!r}")
        if self.augment < 1:
            raise ValueError(
                f"augment must be >= 1 (noisy copies the one model trains on), got {self.augment}"
            )
        if self.training == "augmented" and not self.noise_test:
            raise ValueError(
                "training = 'augmented' certifies the test text only, which needs noise_test = true"
            )

    def noise(self, graph, progress: bool = False):
        raise NotImplementedError

    def plan(self, ctx: Context) -> Plan:
        noise = self.noise(ctx.graph, ctx.progress)
        if self.training == "augmented":
            return self._augmented_plan(noise, ctx)
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
            certify=self._certifier(ctx.corpus.num_labels, kept, noise),
            deterministic=False,
            covers_labels=False,
            kept=kept,
            test_side=self._test_side(ctx.graph) if self.noise_test else None,
        )

    def _augmented_plan(self, noise, ctx: Context) -> Plan:
        """One model on ``augment`` noisy copies of the training set; N noisy copies of each test text."""
        kept = {"max_radius": ctx.max_radius, "draws": ctx.n_copies}
        words, encoder, seed = ctx.words, ctx.encoder, ctx.seed
        read = self._reader(noise, encoder, seed)

        def make_copy(j: int) -> CopyData:
            copies = [noise.perturb(words.train, rng(seed, "train-noise", e)) for e in range(self.augment)]
            train_ids, train_mask = encoder.encode(stacked(copies))
            test = read(j, words.test)
            labels = np.tile(words.train_labels, self.augment)
            return CopyData(train_ids, train_mask, labels, test.ids, test.mask)

        return Plan(
            make_copy=make_copy,
            n_models=1,
            draws=ctx.n_copies,
            certificate=TEST_KIND,
            unit=TEST_UNIT,
            noise=f"{self.name} synonym substitution over {ctx.graph!r}, one model on {self.augment} noisy copies",
            budget=None,
            not_covered_reason=AUGMENTED_REASON,
            certify=self._certifier(ctx.corpus.num_labels, kept, noise),
            deterministic=False,
            covers_labels=False,
            kept=kept,
            test_side=self._test_side(ctx.graph),
        )

    def certifier(self, num_labels: int, kept: dict, graph=None) -> Certifier:
        """Monte Carlo certificates with the ``tv`` radius from the training words' largest per-position TVs
        (``kept["tv"]``, computed from the training set when the models were trained), and with ``graph`` and
        ``noise_test`` the test-side ``test_tv`` radius of each text from its own words."""
        return self._certifier(num_labels, kept, None if graph is None else self.noise(graph))

    def _certifier(self, num_labels: int, kept: dict, noise) -> Certifier:
        fns = {}  # one model trained on many noisy copies ("augmented"): no training-side radius
        if "tv" in kept:
            fns = {"tv": tv_radius_fn(np.asarray(kept["tv"], dtype=np.float64), kept["max_radius"])}
        per_text = None
        if noise is not None and self.noise_test:
            per_text = radii_on_test_text(noise, kept["max_radius"])
        return smoothed_certifier(f"{self.name} synonym substitution", fns, num_labels, per_text)

    @staticmethod
    def _test_side(graph) -> TestSide:
        return TestSide(
            TEST_KIND,
            TEST_UNIT,
            lambda clean, triggered: substituted_positions(graph, clean, triggered),
            TEST_NOT_COVERED,
        )

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


def radii_on_test_text(noise, max_radius: int):
    """``per_text(texts)`` → for each text of ``texts`` (a :class:`crowd.text.WordCorpus`) its ``test_tv``
    radius function: the largest number of its own positions that may hold a synonym substitution (the
    relation :meth:`crowd.noise.SynonymNoise.max_tv` maximises over, both directions) with the smoothed
    prediction unchanged, from the per-position TVs of the test noise at its words (THEORY §3)."""

    def per_text(texts) -> list[dict]:
        tv = noise.max_tv_array([texts.vocab[i] for i in texts.ids]) if len(texts.ids) else np.zeros(0)
        bounds = texts.offsets
        return [
            {TEST_KIND: tv_radius_fn(tv[a:b], min(max_radius, b - a))}
            for a, b in zip(bounds[:-1], bounds[1:])
        ]

    return per_text


def substituted_positions(graph, clean: str, triggered: str) -> int | None:
    """How many positions of ``clean`` hold a synonym substitution in ``triggered`` (``graph.covers``), the
    test-side budget of a triggered text; ``None`` when the texts differ otherwise (other lengths, or a word
    replaced by one outside its synonym set)."""
    a, b = split_words(clean), split_words(triggered)
    if len(a) != len(b):
        return None
    changed = [(w, v) for w, v in zip(a, b) if w != v]
    return len(changed) if all(graph.covers(w, v) for w, v in changed) else None


def stacked(corpora: list[WordCorpus]) -> WordCorpus:
    """The texts of several noisy copies of one corpus (one vocabulary), one after the other."""
    if any(c.vocab is not corpora[0].vocab and c.vocab != corpora[0].vocab for c in corpora):
        raise ValueError("noisy copies to stack must share one vocabulary")
    lengths = np.concatenate([np.diff(c.offsets) for c in corpora])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return WordCorpus(corpora[0].vocab, np.concatenate([c.ids for c in corpora]), offsets)


def position_tv(noise, corpus) -> np.ndarray:
    """The largest TV of ``noise`` for a substitution at each position of ``corpus`` (a
    :class:`crowd.text.WordCorpus`; positions grouped by word), what the TV certificate bounds."""
    ids, counts = np.unique(corpus.ids, return_counts=True)
    return np.repeat(noise.max_tv_array([corpus.vocab[i] for i in ids]), counts)
