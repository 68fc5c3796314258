"""The metrics of a certify run (THEORY §4) from its certificates and votes, as a
:class:`~crowd.pipelines.report_summary.CertifySummary`: accuracies, attack success, the numbers a lean to the
target cannot game, curves, and the warnings that say when the numbers mislead. No torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from crowd.attacks.budget import test_poison_sources
from crowd.certify import (
    Certificate,
    attack_success_rate,
    certified_accuracy,
    certified_accuracy_at_budget,
    certified_accuracy_curve,
    clean_accuracy,
    collective_certified_accuracy,
    confident_accuracy,
    min_copies_to_certify,
)
from crowd.certify.metrics import NotCovered
from crowd.data import Corpus
from crowd.defenses.metrics import degenerate_warnings
from crowd.methods import Plan
from crowd.pipelines.config import CertifyConfig
from crowd.pipelines.report_summary import (
    AimedMetrics,
    CertifySummary,
    Curve,
    CurveRow,
    RunInfo,
    TestSideMetrics,
)
from crowd.pipelines.report_worlds import covered_budget, has_target, label_flips, worlds
from crowd.report import hardware


def summarise_run(
    config: CertifyConfig,
    data: Corpus,
    spec: Plan,
    clean: Sequence[Certificate],
    poison: Sequence[Certificate],
    majority: np.ndarray,
    reused: int = 0,
    votes: np.ndarray | None = None,
) -> CertifySummary:
    """The metrics of THEORY §4 for one run: ``clean`` and ``poison`` are the certificates of the clean and the
    triggered test texts, ``majority`` the plain plurality vote on both (clean first), ``reused`` how many
    models' votes an earlier run stored. ``votes`` ``(models, clean + triggered texts)`` (``-1`` = abstained)
    give word partitions' collective certified accuracy; without them it is left out."""
    labels = np.array([e.label for e in data.test_clean])
    target = config.attack.target_label
    non_target = [i for i, e in enumerate(data.test_poison) if e.original_label != target]
    flips = label_flips(data)
    budget, reason = covered_budget(spec, flips)
    at_budget = certified_accuracy_at_budget(clean, labels, spec.certificate, budget, reason)
    covered = not isinstance(at_budget, NotCovered)
    aimed = aimed_metrics(config, data, spec, clean, labels, budget, at_budget, votes)
    triggered = [poison[i] for i in non_target]
    true_labels = np.array([data.test_poison[i].original_label for i in non_target])
    vote_clean, vote_poison = majority[: len(clean)], majority[len(clean) :][non_target]
    return CertifySummary(
        run=run_info(config, data, spec, len(non_target)),
        aimed=aimed,
        cacc=clean_accuracy(clean, labels),
        abstain_rate_clean=float(np.mean([c.abstained for c in clean])),
        majority_vote_accuracy=float(np.mean(vote_clean == labels)),
        asr=attack_success_rate(triggered, target) if non_target else None,
        base_rate=base_rate(clean, labels, target),
        majority_vote_asr=float(np.mean(vote_poison == target)) if non_target else None,
        confident_accuracy=confident_accuracy(clean, labels),
        attack_budget=budget,
        certified_accuracy_at_budget=at_budget if covered else None,
        certified_triggered_accuracy_at_budget=_triggered_at_budget(
            triggered, true_labels, spec, budget, reason
        ),
        not_covered_reason=None if covered else str(at_budget),
        worlds=worlds(config, spec, data, flips),
        reused_votes=reused,
        curve=_curve(clean, labels, spec.certificate, config.max_radius),
        triggered_curve=(
            _curve(triggered, true_labels, spec.certificate, config.max_radius) if non_target else ()
        ),
        warnings=(*certify_warnings(config, spec, clean, data.num_labels), *_lean_warning(aimed, at_budget)),
        test_side=summarise_test_side(config, data, spec, clean, labels, non_target),
    )


def summarise_test_side(
    config: CertifyConfig,
    data: Corpus,
    spec: Plan,
    clean: Sequence[Certificate],
    labels: np.ndarray,
    non_target: Sequence[int],
) -> TestSideMetrics | None:
    """The plan's test-side certificate on this run (``None`` without one): curves over the clean texts, and
    each triggered non-target text checked through its clean source's certificate at its own budget."""
    side = spec.test_side
    if side is None:
        return None
    kind = side.certificate
    rows = (
        np.flatnonzero(labels != config.attack.target_label) if has_target(config, data) else np.zeros(0, int)
    )
    curve = _curve(clean, labels, kind, config.max_radius)
    non_target_curve = (
        _curve([clean[i] for i in rows], labels[rows], kind, config.max_radius) if rows.size else ()
    )
    sources = test_poison_sources(data) if non_target else None
    if sources is None:
        reason = (
            "no triggered non-target test texts"
            if not non_target
            else "the triggered texts' clean sources are unknown"
        )
        return TestSideMetrics(kind, side.unit, None, None, 0, reason, curve, non_target_curve)
    first = {}
    for i, e in enumerate(data.test_clean):
        first.setdefault((e.text, e.label), i)
    budgets, hits = [], 0
    for i in non_target:
        triggered = data.test_poison[i]
        b = side.budget_of(sources[i], triggered.text)
        j = first.get((sources[i], triggered.original_label))
        if b is None or j is None:
            continue
        budgets.append(b)
        cert = clean[j]
        radius = None if cert.abstained else cert.radii.get(kind)
        hits += cert.label == triggered.original_label and radius is not None and radius >= b
    missing = len(non_target) - len(budgets)
    if not budgets:
        return TestSideMetrics(
            kind, side.unit, None, None, missing, side.not_covered, curve, non_target_curve
        )
    return TestSideMetrics(
        kind, side.unit, max(budgets), hits / len(non_target), missing, None, curve, non_target_curve
    )


def _triggered_at_budget(
    triggered: Sequence[Certificate], true_labels: np.ndarray, spec: Plan, budget: int | None, reason: str
) -> float | None:
    """Certified accuracy of the triggered non-target texts (by their true label) at the covered budget."""
    if not triggered:
        return None
    value = certified_accuracy_at_budget(triggered, true_labels, spec.certificate, budget, reason)
    return value if isinstance(value, float) else None


def aimed_metrics(
    config: CertifyConfig,
    data: Corpus,
    spec: Plan,
    clean: Sequence[Certificate],
    labels: np.ndarray,
    budget: int | None,
    at_budget: float | NotCovered,
    votes: np.ndarray | None,
) -> AimedMetrics:
    """THEORY §4's metrics that a lean to the target cannot game (:class:`AimedMetrics`) on the clean texts of
    true ``labels``. ``budget`` is the covered budget (``at_budget`` a :class:`NotCovered` when there is none)."""
    covered = not isinstance(at_budget, NotCovered)
    kind = spec.certificate
    per_class = tuple(
        certified_accuracy([x for x, y in zip(clean, labels) if y == c], labels[labels == c], kind, budget)
        if covered and (labels == c).any()
        else None
        for c in range(data.num_labels)
    )
    shares = np.bincount(labels, minlength=data.num_labels) / len(labels)
    aimed = AimedMetrics(float(shares.max()), int(shares.argmax()), per_class)
    if not has_target(config, data):
        return aimed
    rows = np.flatnonzero(labels != config.attack.target_label)
    if rows.size == 0:
        return aimed
    certs = [clean[i] for i in rows]
    aimed = dataclasses.replace(aimed, non_target_curve=_curve(certs, labels[rows], kind, config.max_radius))
    if not covered:
        return aimed
    plurality = getattr(config.method, "aggregation", "") == "plurality"
    collective = None
    if votes is not None and spec.word_groups and plurality:
        collective = collective_certified_accuracy(votes[:, rows], labels[rows], budget, spec.word_buckets)
    return dataclasses.replace(
        aimed,
        certified_accuracy_non_target_at_budget=certified_accuracy(certs, labels[rows], kind, budget),
        collective_certified_accuracy_non_target_at_budget=collective,
    )


def _lean_warning(aimed: AimedMetrics, at_budget: float | NotCovered) -> list[str]:
    if isinstance(at_budget, NotCovered) or at_budget > aimed.constant_certified_accuracy:
        return []
    return [
        f"certified accuracy over all clean texts at the budget ({100 * at_budget:.1f}%) is not above what a "
        f"constant classifier that always answers class {aimed.constant_class} scores at every radius "
        f"({100 * aimed.constant_certified_accuracy:.1f}%): read the non-target and per-class numbers"
    ]


def certify_warnings(
    config: CertifyConfig, spec: Plan, clean: Sequence[Certificate], num_labels: int
) -> list[str]:
    """Sentences saying why a run's numbers mislead: a smoothed classifier that predicts one class for nearly
    every clean text, or (Monte Carlo methods) an N so small that even a unanimous vote abstains."""
    out = degenerate_warnings([c.label for c in clean if not c.abstained], "smoothed classifier")
    if spec.deterministic or not clean:
        return out
    # Each certificate carries the level it was bounded at (alpha over all certified texts, clean and
    # triggered, when simultaneous) and its counts (the models not used to select the class).
    first = clean[0]
    n_selection = spec.n_votes - sum(first.counts)
    needed = min_copies_to_certify(first.alpha, num_labels, first.method, n_selection)
    if spec.n_votes < needed:
        out.append(
            f"N = {spec.n_votes} is too small for any certificate at alpha = {config.alpha} "
            f"({config.selection}{', simultaneous' if config.simultaneous else ''}): even a unanimous vote "
            f"abstains; N >= {needed} is needed"
        )
    return out


def base_rate(clean: Sequence[Certificate], labels: np.ndarray, target: int) -> float | None:
    """Clean non-target test texts predicted as the target: what ASR is to be read against."""
    rows = [c for c, y in zip(clean, labels) if y != target]
    return float(np.mean([c.label == target for c in rows])) if rows else None


def _curve(certs: Sequence[Certificate], labels: np.ndarray, kind: str, max_radius: int) -> Curve:
    """The certified-accuracy curve up to one radius past its last non-zero point."""
    points = certified_accuracy_curve(certs, labels, kind, max_radius)
    last = max([p.radius for p in points if p.certified_accuracy > 0], default=0)
    return tuple(CurveRow(p.radius, p.certified_accuracy) for p in points[: last + 2])


def run_info(config: CertifyConfig, data: Corpus, spec: Plan, n_non_target: int) -> RunInfo:
    """What was run: corpus, attack, model, noise, statistics, hardware."""
    return RunInfo(
        dataset=config.data.dataset,
        attack=config.attack.name if data.manifest.get("attack") != "given" else "given",
        poison_rate=config.attack.poison_rate,
        target_label=config.attack.target_label,
        num_labels=data.num_labels,
        n_train=len(data.train),
        n_poisoned_train=sum(e.poisoned for e in data.train),
        n_test_clean=len(data.test_clean),
        n_test_poison_non_target=n_non_target,
        model=config.model.name if config.learner.uses_model else None,
        learner=config.model.learner,
        noise=spec.noise,
        method=type(config.method).name,
        n_copies=spec.n_votes,
        alpha=0.0 if spec.deterministic else config.alpha,
        selection="deterministic" if spec.deterministic else config.selection,
        simultaneous=config.simultaneous,
        seed=config.seed,
        hardware=hardware(),
        certificate=spec.certificate,
        radius_unit=spec.unit,
    )
