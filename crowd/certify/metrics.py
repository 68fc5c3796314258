"""Metrics over certificates (THEORY §4): certified accuracy vs radius, confident accuracy, accuracy at an
attack's budget (or an explicit "not covered"), clean accuracy and attack success rate.

Abstentions are never correct and never count as the target label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crowd.certify.certificate import Certificate

CONFIDENT_ACCURACY_LABEL = (
    "confident accuracy (radius 0: correct and statistically confident; "
    "the most that CROWD's 'certified accuracy' table can mean)"
)


@dataclass(frozen=True)
class CurvePoint:
    """One row of a certified-accuracy-vs-radius curve, in the unit of certificate ``kind``."""

    kind: str
    radius: int
    certified_accuracy: float


@dataclass(frozen=True)
class NotCovered:
    """Returned instead of a number when a certificate's unit cannot express the attack that was run."""

    kind: str
    reason: str

    def __str__(self) -> str:
        return f"not covered by the {self.kind} certificate: {self.reason}"


def _check(certs: Sequence[Certificate], labels: Sequence[int]) -> np.ndarray:
    labels = np.asarray(labels).reshape(-1)
    if len(certs) != labels.size or labels.size == 0:
        raise ValueError("need one label per certificate and at least one certificate")
    return labels


def _correct(certs: Sequence[Certificate], labels: np.ndarray) -> np.ndarray:
    return np.array([c.label is not None and c.label == y for c, y in zip(certs, labels)])


def certified_accuracy(certs: Sequence[Certificate], labels: Sequence[int], kind: str, radius: int) -> float:
    """Fraction of texts whose prediction is correct AND certified at radius ``>= radius`` in ``kind``."""
    labels = _check(certs, labels)
    ok = [
        correct and (r := c.radius(kind)) is not None and r >= radius
        for c, correct in zip(certs, _correct(certs, labels))
    ]
    return float(np.mean(ok))


def certified_accuracy_curve(
    certs: Sequence[Certificate], labels: Sequence[int], kind: str, max_radius: int
) -> list[CurvePoint]:
    """Certified accuracy at ``r = 0..max_radius`` (rows; render tables from them).

    Equal, point by point, to :func:`certified_accuracy` at each ``r``, in ``O(texts log texts + max_radius)``:
    each text's radius is read once and sorted; past the largest radius any correct text reaches, every point
    is 0.
    """
    labels = _check(certs, labels)
    radii = np.sort(
        [r for c, ok in zip(certs, _correct(certs, labels)) if ok and (r := c.radius(kind)) is not None]
    )
    reached = min(max_radius, int(radii[-1])) if radii.size else -1
    at_least = radii.size - np.searchsorted(radii, np.arange(reached + 1), side="left")
    points = [CurvePoint(kind, r, float(n / labels.size)) for r, n in enumerate(at_least.tolist())]
    return points + [CurvePoint(kind, r, 0.0) for r in range(reached + 1, max_radius + 1)]


def confident_accuracy(certs: Sequence[Certificate], labels: Sequence[int]) -> float:
    """Correct and not abstained (radius 0). See :data:`CONFIDENT_ACCURACY_LABEL` for how to label it."""
    labels = _check(certs, labels)
    return float(np.mean(_correct(certs, labels)))


def clean_accuracy(certs: Sequence[Certificate], labels: Sequence[int]) -> float:
    """CACC of the smoothed/defended classifier on clean texts; abstentions count as wrong."""
    return confident_accuracy(certs, labels)


def certified_accuracy_at_budget(
    certs: Sequence[Certificate],
    labels: Sequence[int],
    kind: str,
    budget: int | None,
    reason: str = "the attack is not expressible in this certificate's unit",
) -> float | NotCovered:
    """Certified accuracy at an attack's budget in ``kind``'s unit, or :class:`NotCovered`.

    ``budget=None`` means the certificate cannot express the attack (e.g. a synonym-substitution TV
    certificate against BadNets' inserted rare words); the result is then a :class:`NotCovered` carrying
    ``reason``, never a number.
    """
    if budget is None:
        return NotCovered(kind, reason)
    if budget < 0:
        raise ValueError("budget must be >= 0")
    return certified_accuracy(certs, labels, kind, budget)


def attack_success_rate(preds_or_certs: Sequence[Certificate | int | None], target: int) -> float:
    """ASR over poisoned test texts made from examples whose TRUE label is not ``target``.

    Pass only those texts (filter by the source label first: :func:`poisoned_non_target`). The rate is the
    fraction predicted as ``target``; abstentions (``None``) count as NOT the target. This is not
    ``1 - accuracy`` over all texts, which CROWD's released code reports.
    """
    if len(preds_or_certs) == 0:
        raise ValueError("no poisoned texts")
    preds = [p.label if isinstance(p, Certificate) else p for p in preds_or_certs]
    return float(np.mean([p is not None and p == target for p in preds]))


def poisoned_non_target(source_labels: Sequence[int], target: int) -> np.ndarray:
    """Boolean mask of poisoned test texts whose true (source) label differs from ``target``."""
    return np.asarray(source_labels) != target
