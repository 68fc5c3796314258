"""What a certified method is: the protocol every file of :mod:`crowd.methods` implements.

A method turns one corpus into ``n`` training sets (noisy copies, partitions, word groups), says how test text
``x`` is shown to model ``j``, and turns the ``n`` models' votes into certificates in its own unit. The
orchestration (:mod:`crowd.pipelines.certify`) calls, in order:

1. ``method.plan(context)`` → a :class:`Plan`: the copy factory (``make_copy(j)`` gives model ``j``'s
   encoded training set and test inputs), the number of models, the noise description, the certificate's
   kind and unit, and the attack's budget in that unit;
2. the learner trains one model per copy and predicts (:func:`crowd.train.run_votes`);
3. ``plan.certify(votes, stats, logits, texts)`` → one :class:`~crowd.certify.Certificate` per test text
   (``votes`` ``(models, texts)``; ``logits`` ``(models, texts, classes)`` when ``plan.needs_logits``;
   ``texts`` the test texts as given, a :class:`~crowd.text.WordCorpus`, which a test-side certificate reads).

Methods are frozen dataclasses of their parameters (the ``[method]`` table of a config, unknown keys
rejected), so a method object is also its config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from crowd.attacks import NO_ATTACK
from crowd.certify import (
    Certificate,
    certify_rows,
    dpa_certificates,
    fa_bucket_models,
    fa_certificates,
    runoff_certificates,
)
from crowd.data.corpus import Corpus
from crowd.seeding import TextDraws, text_key
from crowd.text import WordCorpus
from crowd.train.data import ModelInputs

UNKNOWN_SOURCE = "the clean source of the training set was not given, so the attack budget is unknown"


@dataclass(frozen=True)
class Statistics:
    """How Monte Carlo votes become certificates (ignored by deterministic methods)."""

    alpha: float = 0.05
    selection: str = "bonferroni"
    n_selection: int = 0
    simultaneous: bool = False
    max_radius: int = 100


@dataclass(frozen=True)
class Words:
    """Word-level corpora over one shared vocabulary (so the noise is prepared once)."""

    train: WordCorpus
    test: WordCorpus
    train_labels: np.ndarray

    @classmethod
    def of(cls, corpus: Corpus) -> Words:
        train = WordCorpus.from_texts([e.text for e in corpus.train])
        test = WordCorpus.from_texts([e.text for e in corpus.test], vocab=train.vocab)
        train = WordCorpus(test.vocab, train.ids, train.offsets)  # same (extended) vocabulary
        return cls(train, test, np.asarray([e.label for e in corpus.train], dtype=np.int64))


@dataclass(frozen=True)
class Context:
    """Everything a method needs to plan a run."""

    corpus: Corpus
    words: Words
    encoder: Any  # crowd.train.WordPieceEncoder or a learner's own encoder (same interface)
    seed: int
    n_copies: int
    max_radius: int
    graph: Any = None  # synonyms.SynonymGraph for methods with ``uses_graph``
    progress: bool = False  # long preparations (CROWD's exact distributions) report progress
    attacked: Corpus | None = (
        None  # the poisoned corpus the budget is measured on, when training uses another
    )

    @property
    def budget_corpus(self) -> Corpus:
        """The corpus whose attack budget the report states (the training corpus unless ``attacked`` is set)."""
        return self.attacked if self.attacked is not None else self.corpus


TEST_NOISE = {"test_noise": "per-text draws"}
"""Votes identity of the smoothing methods' test noise: drawn per text (crowd.seeding.TextDraws) since the
models are kept; votes stored under the earlier per-copy stream are not reused."""

CopyFactory = Callable[[int], Any]
Reader = Callable[[int, WordCorpus], ModelInputs]
"""How model ``j`` sees texts: ``read(j, texts)`` → its :class:`~crowd.train.data.ModelInputs` (a function of
each text alone, so a kept classifier gives a new text the certificate it would get in any test set)."""
Certifier = Callable[..., list[Certificate]]
"""``certify(votes, stats, logits=None, texts=None)``: certificates of every text from the models' votes
``(models, texts)``, their logits (run-off) and the texts as given (a test-side certificate's per-text terms)."""


@dataclass(frozen=True)
class TestSide:
    """A test-side certificate a plan gives beside its own (THEORY §3, "Test-side certificates"): radius kind
    ``certificate`` in ``unit`` (changes of the test text), and ``budget_of(clean, triggered)``, the number of
    changes of that unit that made a triggered test text from its clean source (``None``: an edit the unit
    does not cover, with ``not_covered``, why)."""

    __test__: ClassVar[bool] = False  # not a pytest class

    certificate: str
    unit: str
    budget_of: Callable[[str, str], int | None]
    not_covered: str


@dataclass(frozen=True)
class Plan:
    """A method applied to one corpus: how to make each model's data, and how to certify the votes."""

    make_copy: CopyFactory
    n_models: int
    certificate: str
    unit: str
    noise: str
    budget: int | None
    not_covered_reason: str
    certify: Certifier
    deterministic: bool
    # Whether the certificate's unit counts training labels (DPA: a relabelled row is a changed example; Wang:
    # label coordinates). Where it does not (word partitions, synonym smoothing), the reference world keeps the
    # attack's label flips and the report says they are not covered (THEORY §4, "Label flips").
    covers_labels: bool
    one_model_per_group: bool = False  # training sets differ in size: learners train them one at a time
    needs_logits: bool = False  # run-off election reads every model's logits, not only its vote
    # Word-group methods: the models each word bucket feeds (per-text group votes, the collective guarantee).
    word_buckets: tuple[frozenset[int], ...] | None = None
    reference_world: str = "the clean training set (the attack's source, before poisoning)"
    kept: dict = dataclasses.field(default_factory=dict)  # what the certifier needs beyond the method (JSON)
    # A certificate of changes to the test text, beside the training-side one.
    test_side: TestSide | None = None
    draws: int = 1  # votes per model: each model is asked about this many noisy copies of each test text

    @property
    def word_groups(self) -> bool:
        """Whether the models vote on word groups (buckets of word types), so the votes are reported per text."""
        return self.word_buckets is not None

    @property
    def n_votes(self) -> int:
        """Votes per test text: ``n_models · draws`` (N of a smoothing method)."""
        return self.n_models * self.draws


class Method(Protocol):
    """A certified method (one file of :mod:`crowd.methods`)."""

    name: ClassVar[str]
    uses_graph: ClassVar[bool]
    uses_noise: ClassVar[bool]  # its votes depend on the noise package's distributions (crowd.noise)

    def plan(self, context: Context) -> Plan: ...

    def reader(self, encoder: Any, seed: int, graph: Any, num_labels: int) -> Reader: ...

    def certifier(self, num_labels: int, kept: dict, graph: Any = None) -> Certifier: ...


def measured_budget(corpus: Corpus, measure: Callable[[], tuple[int | None, str]]) -> tuple[int | None, str]:
    """``(budget, reason)``: 0 for a clean run, unknown without the clean source, else ``measure()``."""
    if not corpus.manifest.get("clean_source_known", True):
        return None, UNKNOWN_SOURCE
    if corpus.manifest.get("attack") == NO_ATTACK:
        return 0, ""
    return measure()


def vote_counts(votes: np.ndarray, num_labels: int) -> np.ndarray:
    """``(texts, classes)`` counts from ``(models, texts)`` votes."""
    return np.stack([(votes == c).sum(axis=0) for c in range(num_labels)], axis=1)


def smoothed_certifier(
    noise: str,
    radius_fns: Sequence[dict] | dict,
    num_labels: int,
    per_text: Callable[[WordCorpus], list[dict]] | None = None,
) -> Certifier:
    """Monte Carlo certificates (Clopper–Pearson, THEORY §1) with the given per-text radius functions (one
    dict for every text alike), and ``per_text(texts)``'s radius functions of each text added where the texts
    are given (a test-side certificate).

    With ``selection = "selection"`` the first ``n_selection`` copies pick the class and the rest bound it.
    """

    def certify(votes: np.ndarray, stats: Statistics, logits=None, texts=None) -> list[Certificate]:
        k = stats.n_selection if stats.selection == "selection" else 0
        fns = [radius_fns] * votes.shape[1] if isinstance(radius_fns, dict) else radius_fns
        if per_text is not None and texts is not None:
            fns = [{**a, **b} for a, b in zip(fns, per_text(texts), strict=True)]
        return certify_rows(
            vote_counts(votes[k:], num_labels),
            stats.alpha,
            noise,
            fns,
            method=stats.selection,
            selection_counts=vote_counts(votes[:k], num_labels) if k else None,
            simultaneous=stats.simultaneous,
        )

    return certify


AGGREGATIONS = ("plurality", "runoff")


def check_aggregation(aggregation: str) -> None:
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}")


def aggregate_certifier(
    aggregation: str, key: str, noise: str, num_labels: int, fa: tuple[int, int] | None = None
):
    """Deterministic certificates of an ensemble whose model ``j`` sees only its own part of the data.

    ``plurality``: vote-count radius (ties to the smallest class); ``runoff``: run-off election over each
    model's logits (Rezaei et al. 2023); ``fa = (k, d)``: Finite Aggregation's radius for ``k·d`` models
    with spread ``d`` (Wang, Levine, Feizi 2022), with run-off :func:`crowd.certify.runoff_fa_radius`.
    Every radius counts parts an adversary may change.
    A model that abstains on a text (vote ``-1``, all-NaN logits row) casts no vote there: plurality counts
    skip it, run-off reads its NaN row as an abstention in both rounds, and a text on which every model
    abstains gets an abstaining certificate; Finite Aggregation counts an abstaining model as a vote for no
    class, which a corrupted bucket may turn into any vote (checked by enumeration).
    """

    def certify(votes: np.ndarray, stats: Statistics, logits=None, texts=None) -> list[Certificate]:
        if aggregation == "runoff":
            if logits is None:
                raise ValueError("run-off election needs every model's logits; none were stored")
            buckets = fa_bucket_models(*fa) if fa is not None and fa[1] > 1 else None
            return runoff_certificates(np.transpose(logits, (1, 0, 2)), key, noise, buckets)
        if fa is not None and fa[1] > 1:
            return fa_certificates(votes.T, fa[0], fa[1], num_labels, radius_key=key, noise=noise)
        return dpa_certificates(vote_counts(votes, num_labels), noise, radius_key=key)

    return certify


def memo_last(compute: Callable[[WordCorpus], Any]) -> Callable[[WordCorpus], Any]:
    """``compute(texts)``, remembered for the last ``texts`` object (a reader is called once per model on the
    same texts: what depends on the texts alone is computed once)."""
    last: list = [None, None]

    def get(texts: WordCorpus) -> Any:
        if last[0] is not texts:
            last[0], last[1] = texts, compute(texts)
        return last[1]

    return get


def text_keys(texts: WordCorpus) -> np.ndarray:
    """:func:`crowd.seeding.text_key` of every text of ``texts``, uint64."""
    words = np.asarray(texts.vocab, dtype=object)
    bounds = texts.offsets
    return np.array(
        [text_key(words[texts.ids[a:b]].tolist()) for a, b in zip(bounds[:-1], bounds[1:])], dtype=np.uint64
    )


def word_draws(seed: int, purpose: str, j: int, texts: WordCorpus, keys: np.ndarray) -> TextDraws:
    """Per-text draws for one value per word of ``texts`` (flat, as the synonym noise samples)."""
    owners = np.repeat(np.arange(len(texts.offsets) - 1), np.diff(texts.offsets))
    positions = np.arange(len(texts.ids)) - texts.offsets[owners]
    return TextDraws(seed, purpose, j, keys, owners, positions)
