"""The typed record of a certify run's report: every number and sentence of ``summary.json`` (THEORY §4).

:func:`crowd.pipelines.report_metrics.summarise_run` builds a :class:`CertifySummary` once from a run's
certificates and votes; ``CertifySummary.as_dict()`` is ``summary.json`` (and a benchmark row), and
:mod:`crowd.pipelines.report_markdown` renders ``summary.md`` from the same record. Data only: no torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CurveRow:
    """One point of a certified-accuracy curve, in the unit of the run's certificate."""

    radius: int
    certified_accuracy: float


Curve = tuple[CurveRow, ...]


@dataclass(frozen=True)
class RunInfo:
    """What was run: corpus, attack, model, noise, statistics, hardware."""

    dataset: str
    attack: str
    poison_rate: float
    target_label: int
    num_labels: int
    n_train: int
    n_poisoned_train: int
    n_test_clean: int
    n_test_poison_non_target: int
    model: str | None
    learner: str
    noise: str
    method: str
    n_copies: int
    alpha: float
    selection: str
    simultaneous: bool
    seed: int
    hardware: str
    certificate: str
    radius_unit: str


@dataclass(frozen=True)
class Worlds:
    """The run's label flips and the worlds it speaks of, as ``summary.json`` names them."""

    label_flips: int | None
    label_flips_note: str | None
    reference_world: str
    trained_on: str
    world: str


@dataclass(frozen=True)
class AimedMetrics:
    """The numbers a lean to the target cannot game: the constant classifier, certified accuracy per true class
    and on the texts the backdoor aims at (true label ≠ target, with its curve), and for word partitions with
    plurality the collective (dataset-level) guarantee on those texts. ``None``: not covered, or no such texts."""

    constant_certified_accuracy: float
    constant_class: int
    per_class_certified_accuracy_at_budget: tuple[float | None, ...]  # by class index
    certified_accuracy_non_target_at_budget: float | None = None
    non_target_curve: Curve = ()
    collective_certified_accuracy_non_target_at_budget: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """These numbers as ``summary.json`` names them (per class by the class index as a string)."""
        per_class = self.per_class_certified_accuracy_at_budget
        return {
            "constant_certified_accuracy": self.constant_certified_accuracy,
            "constant_class": self.constant_class,
            "per_class_certified_accuracy_at_budget": {str(c): v for c, v in enumerate(per_class)},
            "certified_accuracy_non_target_at_budget": self.certified_accuracy_non_target_at_budget,
            "non_target_curve": _rows(self.non_target_curve),
            "collective_certified_accuracy_non_target_at_budget": (
                self.collective_certified_accuracy_non_target_at_budget
            ),
        }


@dataclass(frozen=True)
class TestSideMetrics:
    """A test-side certificate's numbers (THEORY §3, "Test-side certificates"): radius ``certificate`` in
    ``unit`` (changes of the test text itself), reported beside the training-side certificate, never merged.

    ``budget`` is the largest number of such changes a triggered non-target test text has against its clean
    source; ``certified_accuracy_at_budget`` the share of the triggered non-target texts whose clean source is
    predicted as its true label and certified at that text's own budget (so the trigger provably cannot flip
    it); texts whose trigger the unit does not cover count as not certified (``n_not_covered`` of them), and
    when none is covered both are ``None`` with ``not_covered_reason``. Curves are over the clean texts."""

    __test__ = False  # not a pytest class

    certificate: str
    unit: str
    budget: int | None
    certified_accuracy_at_budget: float | None
    n_not_covered: int
    not_covered_reason: str | None
    curve: Curve = ()
    non_target_curve: Curve = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "test_side_certificate": self.certificate,
            "test_side_unit": self.unit,
            "test_side_budget": self.budget,
            "test_side_certified_accuracy_at_budget": self.certified_accuracy_at_budget,
            "test_side_n_not_covered": self.n_not_covered,
            "test_side_not_covered_reason": self.not_covered_reason,
            "test_side_curve": _rows(self.curve),
            "test_side_non_target_curve": _rows(self.non_target_curve),
        }


@dataclass(frozen=True)
class CertifySummary:
    """Every number and sentence of a certify run's report; ``as_dict()`` is its ``summary.json``.

    ``None`` marks a number that does not exist for the run: no triggered non-target texts (``asr``), or an
    attack the certificate's unit does not cover (the ``*_at_budget`` numbers; ``not_covered_reason`` says why).
    """

    run: RunInfo
    aimed: AimedMetrics
    cacc: float
    abstain_rate_clean: float
    majority_vote_accuracy: float
    asr: float | None
    base_rate: float | None
    majority_vote_asr: float | None
    confident_accuracy: float
    attack_budget: int | None
    certified_accuracy_at_budget: float | None
    certified_triggered_accuracy_at_budget: float | None
    not_covered_reason: str | None
    worlds: Worlds
    reused_votes: int
    curve: Curve
    triggered_curve: Curve
    warnings: tuple[str, ...]
    test_side: TestSideMetrics | None = (
        None  # methods that also certify the test text (smoothing with test noise)
    )

    @property
    def covered(self) -> bool:
        """Whether the certificate's unit covers the attack (then the ``*_at_budget`` numbers exist)."""
        return self.not_covered_reason is None

    def as_dict(self) -> dict[str, Any]:
        """The flat ``summary.json`` table (curves as ``{"radius", "certified_accuracy"}`` rows)."""
        return {
            **dataclasses.asdict(self.run),
            **self.aimed.as_dict(),
            "cacc": self.cacc,
            "abstain_rate_clean": self.abstain_rate_clean,
            "majority_vote_accuracy": self.majority_vote_accuracy,
            "asr": self.asr,
            "base_rate": self.base_rate,
            "majority_vote_asr": self.majority_vote_asr,
            "confident_accuracy": self.confident_accuracy,
            "attack_budget": self.attack_budget,
            "certified_accuracy_at_budget": self.certified_accuracy_at_budget,
            "certified_triggered_accuracy_at_budget": self.certified_triggered_accuracy_at_budget,
            "not_covered_reason": self.not_covered_reason,
            **dataclasses.asdict(self.worlds),
            "reused_votes": self.reused_votes,
            "curve": _rows(self.curve),
            "triggered_curve": _rows(self.triggered_curve),
            "warnings": list(self.warnings),
            **(self.test_side.as_dict() if self.test_side is not None else {}),
        }


def _rows(curve: Curve) -> list[dict[str, Any]]:
    return [{"radius": p.radius, "certified_accuracy": p.certified_accuracy} for p in curve]
