"""Word-partition aggregation (TextGuard; Pei, Jia, Guo, Li, Song, NDSS 2024; THEORY §3(d)).

Words: every text is split on whitespace (:func:`crowd.text.split_words`; no downloaded data). Inserting
or deleting a word therefore never changes how the other words are split. Word type ``w`` belongs to group
``word_group(w, m) = int(md5(lowercase(w)).hexdigest(), 16) mod m`` (TextGuard's rule). Model ``i`` is
trained on the sub-texts ``x⁽ⁱ⁾`` (the words of ``x`` in group ``i``, in text order with ``order = "keep"``,
sorted by their lower-cased form with ``order = "sorted"`` as TextGuard's certified runs do) with the
original labels, and votes on the test text's sub-text ``x⁽ⁱ⁾``. Empty sub-texts (``empty``): by default
a group drops the training rows whose sub-text is empty and abstains on a test text whose sub-text is empty
(a touched group then moves the margin by 1 going between abstaining and voting, by 2 between two votes, so
the radius below stays sound over the votes cast; a text on which every group abstains abstains);
``empty = "placeholder"`` presents an empty sub-text as the empty text (``[CLS] [SEP]`` for word-piece
models), the same fixed input in every world, which the model maps to its training prior. With
``class_weight = "balanced"`` (default) each model weights its rows by its own training set's label counts.
Each model depends only on its sub-training set, in the corpus's fixed order, and on ``(seed, i)``.

Finite Aggregation over word groups (``spread = d > 1``; Wang, Levine, Feizi 2022, with word types in place of
training examples, THEORY §3(d)): the ``groups`` md5 groups are ``k·d`` buckets, and model ``i`` (of ``k·d``)
trains on and votes with the words of buckets ``i − d + 1 .. i`` (mod ``k·d``), so a word type reaches exactly
the ``d`` models whose window holds its bucket. The certificate is FA's bucket bound
(:func:`crowd.certify.fa_radius`) in the same unit, with abstaining models (no word of the text in their
buckets) that a trigger may make vote; it is checked against enumeration of every output of every corrupted
model. With run-off the radius is :func:`crowd.certify.runoff_fa_radius`, in buckets. The collective
(dataset-level) guarantee enumerates sets of buckets and the models they reach
(:func:`crowd.certify.collective_certified_accuracy`). ``spread = 1`` is plain word partitions.

Certificate ``textguard``, deterministic: if two worlds differ only in the occurrences of a set ``W`` of
word types — added or removed anywhere, in any number of training texts and in the test text — the groups
outside ``g(W)`` have identical sub-training sets and sub-texts, so at most ``|W|`` votes differ; the
prediction (plurality, ties to the smallest class) is certified for ``|W| ≤ ⌊(n_a − max_{c≠a}(n_c +
1[c < a]))/2⌋``; run-off election over the models' logits (``aggregation = "runoff"``) bounds the same
threat. Unit: **distinct word types added or removed** (a substitution ``u → v`` costs 2), independent of
how many examples carry them. Labels are not covered: the reference world is the clean source WITH the
attack's label flips (they act as label noise, not as a trigger). The attack's budget is measured exactly:
the number of groups whose sub-training set or poisoned test sub-texts differ between that reference world
and the poisoned corpus (BadNets with ``cf mn bb tq``: at most 4; AddSent's sentence: at most 5; SynBkd
and StyleBkd rewrite many words and get their honest, large budget).
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from crowd.attacks.budget import test_poison_sources
from crowd.certify import fa_bucket_models, fa_model_buckets
from crowd.data import Corpus
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
from crowd.text import WordCorpus, joined_words, split_words, touched_groups, word_group
from crowd.train import CopyData
from crowd.train.data import ModelInputs, TrainingInputError, check_class_weight, class_weights

UNIT = "distinct word types added or removed (a substitution counts 2)"
ORDERS = ("keep", "sorted")
EMPTY = ("abstain", "placeholder")


def sub_text(text: str, group: int, m: int, order: str = "keep") -> str:
    """The words of ``text`` in ``group`` (of ``m``), in text order or sorted by their lower-cased form."""
    return joined_words([w for w in split_words(text) if word_group(w, m) == group], order)


def sub_corpus(
    corpus: WordCorpus, groups: np.ndarray, group: int | Collection[int], order: str
) -> WordCorpus:
    """``corpus`` reduced to the words whose vocabulary id is in ``group`` (or in any group of a collection:
    a Finite Aggregation model's buckets); ``groups`` maps id → group."""
    text_of = np.repeat(np.arange(len(corpus.offsets) - 1), np.diff(corpus.offsets))
    keep = (
        np.isin(groups[corpus.ids], sorted(group))
        if isinstance(group, Collection)
        else groups[corpus.ids] == group
    )
    ids, owners = corpus.ids[keep], text_of[keep]
    if order == "sorted":
        rank = _sort_ranks(corpus.vocab)
        perm = np.lexsort((rank[ids], owners))
        ids, owners = ids[perm], owners[perm]
    counts = np.bincount(owners, minlength=len(corpus.offsets) - 1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return WordCorpus(corpus.vocab, ids.astype(corpus.ids.dtype), offsets)


def _sort_ranks(vocab: Sequence[str]) -> np.ndarray:
    order = sorted(range(len(vocab)), key=lambda i: (vocab[i].lower(), vocab[i]))
    rank = np.empty(len(vocab), dtype=np.int64)
    rank[order] = np.arange(len(vocab))
    return rank


def groups_touched(corpus: WordCorpus, groups: np.ndarray) -> np.ndarray:
    """For each text of ``corpus``, how many groups hold at least one of its words (those that vote on it)."""
    text_of = np.repeat(np.arange(len(corpus.offsets) - 1), np.diff(corpus.offsets))
    m = int(groups.max(initial=0)) + 1
    pairs = np.unique(text_of * m + groups[corpus.ids])
    return np.bincount(pairs // m, minlength=len(corpus.offsets) - 1)


@dataclass(frozen=True)
class TextGuard:
    """``[method] name = "textguard"``: ``groups`` m (≥ 1; with ``spread`` d, the ``k·d`` buckets and models),
    ``spread`` d (1: word partitions; > 1: Finite Aggregation, dividing ``groups``), ``order`` (``"keep"`` | ``"sorted"``),
    ``aggregation`` (``"plurality"`` | ``"runoff"``), ``empty`` (``"abstain"``: a group drops the training
    rows whose sub-text is empty and casts no vote on a test text whose sub-text is empty; ``"placeholder"``:
    an empty sub-text is the empty input, in training and at test), ``class_weight`` (``"balanced"``: each
    group model weights its rows by its own training set's label counts; ``"none"``).

    Before training, ``groups`` is refused when it exceeds the training set's distinct word types or when a
    group holds no training word; and a warning is given when the median test text has words in fewer than
    half of the groups (most groups would not see it)."""

    name: ClassVar[str] = "textguard"
    uses_graph: ClassVar[bool] = False
    uses_noise: ClassVar[bool] = False
    paper_note: ClassVar[str] = (
        "not in the CROWD paper (TextGuard, NDSS 2024): one model per md5 word group, deterministic; its unit, "
        "distinct trigger word types, does not grow with the poison rate; label flips are kept in the reference world"
    )
    groups: int = 9
    spread: int = 1
    order: str = "keep"
    aggregation: str = "plurality"
    empty: str = "abstain"
    class_weight: str = "balanced"

    def __post_init__(self) -> None:
        if self.groups < 1:
            raise ValueError(f"groups must be >= 1, got {self.groups}")
        if self.spread < 1 or self.groups % self.spread:
            raise ValueError(
                f"spread must be >= 1 and divide groups (groups = k·spread models over as many buckets), "
                f"got groups = {self.groups}, spread = {self.spread}"
            )
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {self.order!r}")
        if self.empty not in EMPTY:
            raise ValueError(f"empty must be one of {', '.join(EMPTY)}, got {self.empty!r}")
        check_aggregation(self.aggregation)
        check_class_weight(self.class_weight)

    def votes_identity(self, graph) -> dict:
        return {}

    @property
    def description(self) -> str:
        if self.spread > 1:
            k = self.groups // self.spread
            return (
                f"word-group finite aggregation, {self.groups} md5 word buckets, each model reads {self.spread} "
                f"(k={k}, d={self.spread}), order {self.order}"
            )
        return f"word-partition aggregation (TextGuard), {self.groups} md5 word groups, order {self.order}"

    def model_buckets(self) -> list[frozenset[int]]:
        """The buckets (word groups) each model trains on and votes with: ``{i}``, or FA's ``d`` buckets."""
        return fa_model_buckets(self.groups // self.spread, self.spread)

    def certifier(self, num_labels: int, kept: dict, graph=None) -> Certifier:
        """How the models' votes (and logits, for run-off) on any texts become certificates."""
        fa = (self.groups // self.spread, self.spread)
        return aggregate_certifier(self.aggregation, "textguard", self.description, num_labels, fa)

    def reader(self, encoder, seed: int, graph, num_labels: int) -> Reader:
        """Model ``j`` sees the sub-texts of group ``j``, encoded; with ``empty = "abstain"`` the texts without
        a word in group ``j`` are marked as abstentions. A function of each text alone."""
        groups_of = memo_last(
            lambda t: np.array([word_group(w, self.groups) for w in t.vocab], dtype=np.int64)
        )

        def read(j: int, texts: WordCorpus) -> ModelInputs:
            sub = sub_corpus(texts, groups_of(texts), j, self.order)
            ids, mask = encoder.encode(sub)
            return ModelInputs(ids, mask, np.diff(sub.offsets) == 0 if self.empty == "abstain" else None)

        return read

    def plan(self, ctx: Context) -> Plan:
        noise = self.description
        corpus = ctx.corpus
        budget, reason = measured_budget(ctx.budget_corpus, lambda: self.budget(ctx.budget_corpus))
        return Plan(
            make_copy=self._copies(ctx),
            n_models=self.groups,
            certificate="textguard",
            unit=UNIT,
            noise=f"{noise}, {self.aggregation}",
            budget=budget,
            not_covered_reason=reason,
            certify=self.certifier(corpus.num_labels, {}),
            deterministic=True,
            covers_labels=False,
            one_model_per_group=self.empty == "abstain",  # groups keep different training rows
            needs_logits=self.aggregation == "runoff",
            word_buckets=tuple(fa_bucket_models(self.groups // self.spread, self.spread)),
            reference_world="the clean source with the attack's label flips kept (flips act as label noise)",
        )

    def budget(self, corpus: Corpus) -> tuple[int | None, str]:
        """Groups touched in the training set (against the clean source, label flips kept) and test triggers."""
        pairs = [(a.text, b.text) for a, b in zip(corpus.train_clean, corpus.train)]
        sources = test_poison_sources(corpus) if corpus.test_poison else []
        if sources is None:
            return None, "the clean sources of the triggered test texts are unknown, so the budget is unknown"
        pairs += list(zip(sources, (e.text for e in corpus.test_poison)))
        return len(touched_groups(pairs, self.groups, self.order)), ""

    def _check_groups(self, words) -> np.ndarray:
        """The group of each vocabulary id, after refusing groups the training words cannot fill and
        warning when the median test text has words in fewer than half of the groups."""
        groups = np.array([word_group(w, self.groups) for w in words.train.vocab], dtype=np.int64)
        n_types, n_texts = len(np.unique(words.train.ids)), len(words.train.offsets) - 1
        if self.groups > n_types:
            raise TrainingInputError(
                f"method.groups = {self.groups} is more than the {n_types} distinct word types of the training "
                f"set ({n_texts} texts): each group needs at least one word type; use at most {n_types} groups"
            )
        filled = np.unique(groups[words.train.ids])
        if len(filled) < self.groups:
            empty = sorted(set(range(self.groups)) - set(filled.tolist()))
            raise TrainingInputError(
                f"method.groups = {self.groups}: {len(empty)} word group(s) (e.g. {empty[:5]}) hold no word of "
                f"any training text ({n_types} distinct words); use fewer groups"
            )
        touched = groups_touched(words.test, groups)
        if touched.size and np.median(touched) < self.groups / 2:
            warnings.warn(
                f"method.groups = {self.groups}: the median test text has words in {np.median(touched):g} of "
                f"the {self.groups} groups, and {100 * np.mean(touched < self.groups / 2):.1f}% of the test "
                f"texts have words in fewer than half of the groups; the other groups "
                f"{'abstain on' if self.empty == 'abstain' else 'vote their training prior on'} them, so few "
                "texts get a margin to certify; fewer groups give each model more of each text",
                stacklevel=2,
            )
        return groups

    def _copies(self, ctx: Context):

        words, encoder, num_labels = ctx.words, ctx.encoder, ctx.corpus.num_labels
        groups = self._check_groups(words)
        buckets = self.model_buckets()
        read = self.reader(encoder, ctx.seed, ctx.graph, num_labels)

        def make_copy(j: int) -> CopyData:
            train = sub_corpus(words.train, groups, buckets[j], self.order)
            labels = words.train_labels.copy()
            if self.empty == "abstain":
                rows = np.flatnonzero(np.diff(train.offsets) > 0)  # not empty: every group holds a word
                train, labels = train.subset(rows), labels[rows]
            train_ids, train_mask = encoder.encode(train)
            test = read(j, words.test)
            weights = class_weights(labels, num_labels, self.class_weight)
            return CopyData(train_ids, train_mask, labels, test.ids, test.mask, weights, test.abstain)

        return make_copy
