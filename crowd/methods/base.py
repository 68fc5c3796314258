"""What a certified method is: the protocol every file of :mod:`crowd.methods` implements.

A method turns one corpus into ``n`` training sets (noisy copies, partitions, word groups), says how test text
``x`` is shown to model ``j``, and turns the ``n`` models' votes into certificates in its own unit. The
orchestration (:mod:`crowd.pipelines.certify`) calls, in order:

1. ``method.plan(context)`` → a :class:`Plan`: the copy factory (``make_copy(j)`` gives model ``j``'s
   encoded training set and test inputs), the number of models, the noise description, the certificate's
   kind and unit, and the attack's budget in that unit;
2. the learner trains one model per copy and predicts (:func:`crowd.train.run_votes`);
3. ``plan.certify(votes, stats, logits)`` → one :class:`~crowd.certify.Certificate` per test text
   (``votes`` ``(models, texts)``; ``logits`` ``(models, texts, classes)`` when ``plan.needs_logits``).

Methods are frozen dataclasses of their parameters (the ``[method]`` table of a config, unknown keys
rejected), so a method object is also its config.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from crowd.certify import Certificate, certify_rows, dpa_certificates, fa_certificates, runoff_certificates
from crowd.data.corpus import Corpus
from crowd.text import WordCorpus

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


CopyFactory = Callable[[int], Any]
Certifier = Callable[[np.ndarray, Statistics, "np.ndarray | None"], list[Certificate]]


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
    word_groups: bool = False  # one model per word group: per-text group votes, the collective guarantee
    reference_world: str = "the clean training set (the attack's source, before poisoning)"


class Method(Protocol):
    """A certified method (one file of :mod:`crowd.methods`)."""

    name: ClassVar[str]
    uses_graph: ClassVar[bool]

    def plan(self, context: Context) -> Plan: ...


def measured_budget(corpus: Corpus, measure: Callable[[], tuple[int | None, str]]) -> tuple[int | None, str]:
    """``(budget, reason)``: 0 for a clean run, unknown without the clean source, else ``measure()``."""
    if not corpus.manifest.get("clean_source_known", True):
        return None, UNKNOWN_SOURCE
    if corpus.manifest.get("attack") == "none":
        return 0, ""
    return measure()


def vote_counts(votes: np.ndarray, num_labels: int) -> np.ndarray:
    """``(texts, classes)`` counts from ``(models, texts)`` votes."""
    return np.stack([(votes == c).sum(axis=0) for c in range(num_labels)], axis=1)


def smoothed_certifier(noise: str, radius_fns: Sequence[dict], num_labels: int) -> Certifier:
    """Monte Carlo certificates (Clopper–Pearson, THEORY §1) with the given per-text radius functions.

    With ``selection = "selection"`` the first ``n_selection`` copies pick the class and the rest bound it.
    """

    def certify(votes: np.ndarray, stats: Statistics, logits=None) -> list[Certificate]:
        k = stats.n_selection if stats.selection == "selection" else 0
        return certify_rows(
            vote_counts(votes[k:], num_labels),
            stats.alpha,
            noise,
            radius_fns,
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
    with spread ``d`` (Wang, Levine, Feizi 2022). Every radius counts parts an adversary may change.
    A model that abstains on a text (vote ``-1``, all-NaN logits row) casts no vote there: plurality counts
    skip it, run-off reads its NaN row as an abstention in both rounds, and a text on which every model
    abstains gets an abstaining certificate. Finite Aggregation has no abstention rule and refuses them.
    """

    def certify(votes: np.ndarray, stats: Statistics, logits=None) -> list[Certificate]:
        if aggregation == "runoff":
            if logits is None:
                raise ValueError("run-off election needs every model's logits; none were stored")
            return runoff_certificates(np.transpose(logits, (1, 0, 2)), radius_key=key, noise=noise)
        if fa is not None and fa[1] > 1:
            if np.any(votes < 0):
                raise ValueError("finite aggregation has no abstention rule; every model must vote")
            return fa_certificates(votes.T, fa[0], fa[1], num_labels, radius_key=key, noise=noise)
        return dpa_certificates(vote_counts(votes, num_labels), noise, radius_key=key)

    return certify
