"""Step 4 of ``crowd certify``: the metrics of THEORY §4 from the certificates, the Markdown page, the files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crowd.certify import (
    CONFIDENT_ACCURACY_LABEL,
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
from crowd.config import to_dict
from crowd.data import Corpus
from crowd.defenses.metrics import degenerate_warnings
from crowd.methods import Plan
from crowd.pipelines.config import LEARNER_SECTIONS, CertifyConfig
from crowd.report import hardware, plot_curves, write_run


@dataclass(frozen=True)
class CertifyReport:
    """What a run produced: certificates for the clean and the poisoned test texts, and the summary."""

    clean: tuple[Certificate, ...]
    poison: tuple[Certificate, ...]
    summary: dict[str, Any]
    curve: tuple[tuple[int, float], ...]
    markdown: str
    # word partitions: (groups, clean + triggered texts), -1 = abstained
    group_votes: np.ndarray | None = None


def summarise(
    config: CertifyConfig,
    data: Corpus,
    spec: Plan,
    clean: Sequence[Certificate],
    poison: Sequence[Certificate],
    majority: np.ndarray,
    reused: int = 0,
    votes: np.ndarray | None = None,
) -> CertifyReport:
    """Metrics of THEORY §4 for one run, as a summary dict, a curve and a Markdown page.

    ``votes`` ``(models, clean + triggered texts)`` (``-1`` = abstained) give word partitions' collective
    certified accuracy; without them it is left out.
    """
    labels = np.array([e.label for e in data.test_clean])
    target = config.attack.target_label
    non_target = [i for i, e in enumerate(data.test_poison) if e.original_label != target]
    curve = _curve(clean, labels, spec.certificate, config.max_radius)
    flips = label_flips(data)
    budget, reason = covered_budget(spec, flips)
    at_budget = certified_accuracy_at_budget(clean, labels, spec.certificate, budget, reason)
    aimed = _aimed(config, data, spec.certificate, spec.word_groups, clean, labels, budget, at_budget, votes)
    triggered = [poison[i] for i in non_target]
    true_labels = np.array([data.test_poison[i].original_label for i in non_target])
    triggered_curve = (
        _curve(triggered, true_labels, spec.certificate, config.max_radius) if non_target else ()
    )
    triggered_at_budget = (
        certified_accuracy_at_budget(triggered, true_labels, spec.certificate, budget, reason)
        if non_target
        else None
    )
    vote_clean, vote_poison = majority[: len(clean)], majority[len(clean) :][non_target]
    summary = {
        **_run_info(config, data, spec, len(non_target)),
        **aimed,
        "cacc": clean_accuracy(clean, labels),
        "abstain_rate_clean": float(np.mean([c.abstained for c in clean])),
        "majority_vote_accuracy": float(np.mean(vote_clean == labels)),
        "asr": attack_success_rate([poison[i] for i in non_target], target) if non_target else None,
        "base_rate": base_rate(clean, labels, target),
        "majority_vote_asr": float(np.mean(vote_poison == target)) if non_target else None,
        "confident_accuracy": confident_accuracy(clean, labels),
        "attack_budget": budget,
        "certified_accuracy_at_budget": None if isinstance(at_budget, NotCovered) else at_budget,
        "certified_triggered_accuracy_at_budget": (
            triggered_at_budget if isinstance(triggered_at_budget, float) else None
        ),
        "not_covered_reason": str(at_budget) if isinstance(at_budget, NotCovered) else None,
        "label_flips": flips,
        "label_flips_note": label_flips_note(config, spec, data, flips),
        "reference_world": reference_world(config, spec, data, flips),
        "trained_on": trained_on(config, flips),
        "world": config.world,
        "reused_votes": reused,
        "curve": [{"radius": r, "certified_accuracy": a} for r, a in curve],
        "triggered_curve": [{"radius": r, "certified_accuracy": a} for r, a in triggered_curve],
        "warnings": certify_warnings(config, spec, clean, data.num_labels) + _lean_warning(aimed, at_budget),
    }
    group_votes = votes if votes is not None and spec.word_groups else None
    return CertifyReport(tuple(clean), tuple(poison), summary, curve, render_markdown(summary), group_votes)


def label_flips(data: Corpus) -> int | None:
    """Training rows whose label differs between the clean source and the training set (index-aligned; the
    reference corpus keeps the flips, so both worlds count the same); ``None`` when the source is unknown."""
    if not data.manifest.get("clean_source_known", True):
        return None
    return sum(a.label != b.label for a, b in zip(data.train_clean, data.train))


def covered_budget(spec: Plan, flips: int | None) -> tuple[int | None, str]:
    """The plan's budget and reason, except that an attack whose only change a label-blind certificate sees
    is its label flips (budget 0 in the unit, some flips) is not covered: "certified at budget 0" would claim
    the attack was harmless (THEORY §4, "Label flips")."""
    if spec.covers_labels or not flips or spec.budget != 0:
        return spec.budget, spec.not_covered_reason
    return None, (
        f"the attack flipped {flips} training labels and changed nothing this certificate counts "
        f"({spec.unit}); its unit does not cover labels, so it says nothing about this attack"
    )


def label_flips_note(config: CertifyConfig, spec: Plan, data: Corpus, flips: int | None) -> str | None:
    """The line every report carries about the attack's label flips (``None``: no attack, or no clean source)."""
    if flips is None or not has_target(config, data):
        return None
    if flips == 0:
        return "label flips: none (a clean-label attack): the reference world is the clean corpus itself"
    if spec.covers_labels:
        return f"label flips: {flips} rows, counted in the budget ({spec.unit})"
    return (
        f"label flips: {flips} rows, not covered — the certificate holds against the reference world that "
        "keeps them"
    )


def reference_world(config: CertifyConfig, spec: Plan, data: Corpus, flips: int | None) -> str:
    """What the certificate's budget is measured against, with the attack's actual flips."""
    if flips == 0 and has_target(config, data):
        return "the clean corpus itself (the attack flipped no labels)"
    if flips and not spec.covers_labels:
        return f"the clean source with the attack's {flips} label flips kept (flips act as label noise)"
    return spec.reference_world


def trained_on(config: CertifyConfig, flips: int | None) -> str:
    """What the models were trained on, from the corpus actually used (``world = "reference"``: the attack's
    reference corpus, which keeps its label flips whatever the certificate's reference world)."""
    if config.world != "reference":
        return "the poisoned corpus (the observed world)"
    if flips is None:
        return "the training set as given (its clean source is unknown)"
    if flips == 0:
        return "the clean training texts with their own labels (the attack flipped none), no trigger"
    return f"the clean training texts with the attack's {flips} label flips kept, no trigger"


def has_target(config: CertifyConfig, data: Corpus) -> bool:
    """Whether the run's corpus was attacked: not with ``attack.name = "none"`` (for a corpus given as examples,
    the config's attack name says so), and then no class is a target."""
    return data.manifest.get("attack") != "none" and config.attack.name != "none"


def _aimed(
    config, data, kind: str, word_groups: bool, clean, labels: np.ndarray, budget, at_budget, votes
) -> dict[str, Any]:
    """THEORY §4's metrics that a lean to the target cannot game: certified accuracy on the texts the backdoor
    aims at (true label ≠ target) with its curve, per class, the constant classifier, and for word partitions
    with plurality the collective (dataset-level) guarantee on non-target texts. ``budget`` is the covered
    budget (``at_budget`` a :class:`NotCovered` when there is none)."""
    covered = not isinstance(at_budget, NotCovered)
    classes = range(data.num_labels)
    per_class = {
        str(c): (
            certified_accuracy(
                [x for x, y in zip(clean, labels) if y == c], labels[labels == c], kind, budget
            )
            if covered and (labels == c).any()
            else None
        )
        for c in classes
    }
    shares = np.bincount(labels, minlength=data.num_labels) / len(labels)
    out: dict[str, Any] = {
        "constant_certified_accuracy": float(shares.max()),
        "constant_class": int(shares.argmax()),
        "per_class_certified_accuracy_at_budget": per_class,
        "certified_accuracy_non_target_at_budget": None,
        "non_target_curve": [],
        "collective_certified_accuracy_non_target_at_budget": None,
    }
    if not has_target(config, data):
        return out
    target = config.attack.target_label
    rows = np.flatnonzero(labels != target)
    if rows.size == 0:
        return out
    certs = [clean[i] for i in rows]
    curve = _curve(certs, labels[rows], kind, config.max_radius)
    out["non_target_curve"] = [{"radius": r, "certified_accuracy": a} for r, a in curve]
    if covered:
        out["certified_accuracy_non_target_at_budget"] = certified_accuracy(certs, labels[rows], kind, budget)
        plurality = getattr(config.method, "aggregation", "") == "plurality"
        if votes is not None and word_groups and plurality:
            out["collective_certified_accuracy_non_target_at_budget"] = collective_certified_accuracy(
                votes[:, rows], labels[rows], budget
            )
    return out


def _lean_warning(aimed: Mapping[str, Any], at_budget) -> list[str]:
    if isinstance(at_budget, NotCovered) or at_budget > aimed["constant_certified_accuracy"]:
        return []
    return [
        f"certified accuracy over all clean texts at the budget ({100 * at_budget:.1f}%) is not above what a "
        f"constant classifier that always answers class {aimed['constant_class']} scores at every radius "
        f"({100 * aimed['constant_certified_accuracy']:.1f}%): read the non-target and per-class numbers"
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
    n_selection = spec.n_models - sum(first.counts)
    needed = min_copies_to_certify(first.alpha, num_labels, first.method, n_selection)
    if spec.n_models < needed:
        out.append(
            f"N = {spec.n_models} is too small for any certificate at alpha = {config.alpha} "
            f"({config.selection}{', simultaneous' if config.simultaneous else ''}): even a unanimous vote "
            f"abstains; N >= {needed} is needed"
        )
    return out


def base_rate(clean: Sequence[Certificate], labels: np.ndarray, target: int) -> float | None:
    """Clean non-target test texts predicted as the target: what ASR is to be read against."""
    rows = [c for c, y in zip(clean, labels) if y != target]
    return float(np.mean([c.label == target for c in rows])) if rows else None


def _curve(certs, labels, kind: str, max_radius: int) -> tuple[tuple[int, float], ...]:
    """The certified-accuracy curve up to one radius past its last non-zero point."""
    points = certified_accuracy_curve(certs, labels, kind, max_radius)
    last = max([p.radius for p in points if p.certified_accuracy > 0], default=0)
    return tuple((p.radius, p.certified_accuracy) for p in points[: last + 2])


def _run_info(config: CertifyConfig, data: Corpus, spec: Plan, n_non_target: int) -> dict:
    """What was run: corpus, attack, model, noise, statistics, hardware."""
    return {
        "dataset": config.data.dataset,
        "attack": config.attack.name if data.manifest.get("attack") != "given" else "given",
        "poison_rate": config.attack.poison_rate,
        "target_label": config.attack.target_label,
        "num_labels": data.num_labels,
        "n_train": len(data.train),
        "n_poisoned_train": sum(e.poisoned for e in data.train),
        "n_test_clean": len(data.test_clean),
        "n_test_poison_non_target": n_non_target,
        "model": config.model.name if config.learner.uses_model else None,
        "learner": config.model.learner,
        "noise": spec.noise,
        "method": type(config.method).name,
        "n_copies": spec.n_models,
        "alpha": 0.0 if spec.deterministic else config.alpha,
        "selection": "deterministic" if spec.deterministic else config.selection,
        "simultaneous": config.simultaneous,
        "seed": config.seed,
        "hardware": hardware(),
        "certificate": spec.certificate,
        "radius_unit": spec.unit,
    }


def render_markdown(s: Mapping[str, Any]) -> str:
    """The Markdown summary page of a run (rendered from the summary dict, never edited by hand)."""
    rows = _metric_rows(s)
    curve = _points(s["curve"])
    non_target = _points(s["non_target_curve"])
    attack = {"none": "no attack", "given": "a given corpus"}.get(
        s["attack"], f"{s['attack']} (rate {s['poison_rate']})"
    )
    learner = f"{s['learner']} on {s['model']}" if s["model"] else s["learner"]
    statistics = (
        "deterministic: no sampling, no α"
        if s["selection"] == "deterministic"
        else f"α = {s['alpha']} ({s['selection']}{', simultaneous over the test set' if s.get('simultaneous') else ''})"
    )
    lines = [
        f"# crowd certify: {s['dataset']} / {attack}",
        "",
        *[f"**Warning**: {w}.\n" for w in s.get("warnings", [])],
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rows],
        "",
        *([f"{s['label_flips_note']}.", ""] if s.get("label_flips_note") else []),
        *([f"Non-target texts, certified accuracy by radius: {non_target}", ""] if non_target else []),
        f"All clean texts, certified accuracy by radius, {s['certificate']} certificate: {curve}",
        "",
        f"Reference world of the certificate: {s['reference_world']}. These models were trained on "
        f"{s['trained_on']}"
        + (
            " (world = reference, the attack's reference corpus): the curve holds for every attack of at most "
            "r units of this kind applied to that corpus."
            if s.get("world") == "reference"
            else "."
        ),
        "",
        *_reuse_note(s),
        f"Method: {s['noise']}. Learner {learner}, {s['n_copies']} models, {statistics}, seed {s['seed']}; "
        f"{s['n_train']} training texts ({s['n_poisoned_train']} poisoned), {s['n_test_clean']} clean test "
        f"texts. Hardware: {s['hardware']}.",
        "",
        *_glossary(s),
    ]
    return "\n".join(lines) + "\n"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _points(curve: Sequence[Mapping[str, Any]]) -> str:
    return " · ".join(f"r={p['radius']}: {_pct(p['certified_accuracy'])}" for p in curve[:12])


def _metric_rows(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table's rows, in plain names (the glossary below the table defines each)."""
    covered = s["not_covered_reason"] is None
    at = f" at budget {s['attack_budget']}"
    budget = f"{_pct(s['certified_accuracy_at_budget'])}{at}" if covered else s["not_covered_reason"]
    constant = (
        f"constant classifier, always class {s['constant_class']}: {_pct(s['constant_certified_accuracy'])}"
    )
    rows = []
    if s["non_target_curve"]:
        value = f"**{_pct(s['certified_accuracy_non_target_at_budget'])}{at}**" if covered else "—"
        rows.append((f"**certified accuracy, non-target texts** (true label ≠ {s['target_label']})", value))
    if s["collective_certified_accuracy_non_target_at_budget"] is not None:
        value = f"{_pct(s['collective_certified_accuracy_non_target_at_budget'])}{at}"
        rows.append(("collective certified accuracy, non-target texts (dataset-level)", value))
    per_class = " · ".join(
        f"class {c}: {_pct(v)}" for c, v in s["per_class_certified_accuracy_at_budget"].items()
    )
    triggered = _pct(s["certified_triggered_accuracy_at_budget"]) if covered else "—"
    return [
        *rows,
        ("certified accuracy, all clean texts", f"{budget} ({constant})"),
        ("certified accuracy by true class, at the budget", per_class if covered else "—"),
        ("clean accuracy (CACC)", _pct(s["cacc"])),
        ("majority-vote accuracy", _pct(s["majority_vote_accuracy"])),
        ("abstentions, clean texts", _pct(s["abstain_rate_clean"])),
        (
            f"attack success rate (ASR), {s['n_test_poison_non_target']} triggered non-target texts",
            _pct(s["asr"]),
        ),
        ("base rate", _pct(s["base_rate"])),
        ("majority-vote ASR", _pct(s["majority_vote_asr"])),
        ("confident accuracy", _pct(s["confident_accuracy"])),
        ("certified accuracy, triggered texts, at the budget", triggered),
    ]


def _glossary(s: Mapping[str, Any]) -> list[str]:
    """Short definitions of the terms the page uses (THEORY §4), only those that appear on it."""
    target = s["target_label"]
    terms = [
        (
            "radius, budget",
            f"sizes of an attack in the certificate's unit, {s['radius_unit']}; the budget is the size of the "
            "attack actually applied to this corpus",
        ),
        (
            "certified accuracy at radius r",
            "share of texts predicted correctly whose prediction provably stays the same under every attack "
            "of at most r units",
        ),
        (
            "non-target texts",
            f"clean test texts whose true label is not the target ({target}): the texts a backdoor tries to flip",
        ),
        (
            "collective certified accuracy",
            "the share guaranteed for the whole test set at once against one trigger, which touches the same "
            "groups in every text; not a per-text guarantee",
        ),
        ("constant classifier", "one that always answers the same class: the all-text number a lean earns"),
        (
            "clean accuracy (CACC)",
            "accuracy of the defended classifier on clean test texts; abstentions count as wrong",
        ),
        ("majority-vote accuracy", "accuracy of the plain plurality vote, which never abstains"),
        (
            "attack success rate (ASR)",
            f"share of triggered non-target texts predicted as the target ({target})",
        ),
        ("base rate", "share of clean non-target texts predicted as the target: the ASR with no trigger"),
        ("confident accuracy", CONFIDENT_ACCURACY_LABEL.removeprefix("confident accuracy ").strip("()")),
        (
            "observed world / reference world",
            "the poisoned training set the models saw / the corpus the certificate compares it with",
        ),
        ("abstention", "no class wins with the required confidence or margin; counted as wrong"),
    ]
    if s["collective_certified_accuracy_non_target_at_budget"] is None:
        terms = [t for t in terms if t[0] != "collective certified accuracy"]
    if not s["non_target_curve"]:
        terms = [t for t in terms if t[0] != "non-target texts"]
    return ["## Glossary", "", *[f"- **{k}**: {v}." for k, v in terms]]


def write_report(
    out: str | os.PathLike[str], config: CertifyConfig, data: Corpus, report: CertifyReport
) -> None:
    """per_text.jsonl, summary.json, summary.md, config.json and curve.png into ``out``."""

    rows = []
    offset = {"clean": 0, "poison": len(report.clean)}
    for split, examples, certs in (
        ("clean", data.test_clean, report.clean),
        ("poison", data.test_poison, report.poison),
    ):
        for i, (e, c) in enumerate(zip(examples, certs)):
            votes = {}
            if report.group_votes is not None:  # each group's vote, -1 where it abstained
                votes = {"group_votes": report.group_votes[:, offset[split] + i].tolist()}
            rows.append(
                {
                    "split": split,
                    "index": i,
                    "text": e.text,
                    "label": e.label,
                    "true_label": e.original_label,
                    "prediction": c.label,
                    "abstained": c.abstained,
                    "counts": list(c.counts),
                    "p_lower": c.p_lower,
                    "p_upper_runner_up": c.p_upper_runner_up,
                    "radii": dict(c.radii),
                    **votes,
                }
            )
    s = report.summary
    deterministic = s["selection"] == "deterministic"
    write_run(out, rows, s, report.markdown, resolved_config(config, deterministic))
    budget = s["attack_budget"] if s["not_covered_reason"] is None else None
    curves = {}
    if s["non_target_curve"]:
        curves[f"{s['dataset']} clean non-target test (true label ≠ {s['target_label']})"] = _xy(
            s["non_target_curve"]
        ) + (budget,)
    curves[f"{s['dataset']} clean test, all texts"] = _xy(s["curve"]) + (None if curves else budget,)
    if s["triggered_curve"]:
        curves[f"{s['dataset']} triggered test (true label)"] = _xy(s["triggered_curve"]) + (None,)
    plot_curves(
        Path(out) / "curve.png",
        curves,
        f"{s['dataset']} / {s['attack']}: {s['certificate']} certificate, N = {s['n_copies']}",
        s["radius_unit"],
        baseline=(
            s["constant_certified_accuracy"],
            f"constant classifier, all texts (class {s['constant_class']})",
        ),
    )


def _reuse_note(s: Mapping[str, Any]) -> list[str]:
    if not s.get("reused_votes"):
        return []
    return [
        f"Votes of {s['reused_votes']} of the {s['n_copies']} models were stored by an earlier run and re-used. "
        "Choosing N or α after looking at earlier certificates is optional stopping: the stated confidence "
        "holds only if they were fixed in advance.",
        "",
    ]


SAMPLING_KEYS = ("n_copies", "alpha", "selection", "n_selection", "simultaneous", "allow_uncertifiable")
ATTACK_KEYS = ("name", "poison_rate", "target_label", "variant", "preset")  # every attack's


def resolved_config(config: CertifyConfig, deterministic: bool = False) -> dict[str, Any]:
    """The config as run, holding only what the run used: the data root actually read (``--data`` or
    ``$CROWD_DATA``) filled in; the chosen learner's sections only; the attack's keys that apply to every
    attack and the others only where they differ from their defaults; no sampling keys for a deterministic
    method (``deterministic``). Under ``used``: the device and the dtype the learner computed in (bf16 only
    on CUDA). Keys left out take their defaults when the file is read back, so the run is the same."""

    table = to_dict(config)
    for section in LEARNER_SECTIONS:
        if section not in config.learner_sections:
            table.pop(section, None)
    attack_defaults = to_dict(type(config.attack)())
    table["attack"] = {
        k: v for k, v in table["attack"].items() if k in ATTACK_KEYS or v != attack_defaults.get(k)
    }
    if deterministic:
        for key in SAMPLING_KEYS:
            table.pop(key, None)
    if not config.learner.uses_model:  # bow, static: no encoder model is loaded
        table["model"].pop("name", None)
    table["data"]["data_root"] = config.data.pinned().data_root  # as the run resolved it
    device = _device(config.model.device)
    dtype = getattr(config.learner, "dtype", "fp32")
    table["used"] = {"device": device, "dtype": dtype if device.startswith("cuda") else "fp32"}
    return table


def _device(name: str) -> str:
    if name != "auto":
        return name
    return "cuda" if torch.cuda.is_available() else "cpu"


def _xy(curve: Sequence[Mapping[str, Any]]) -> tuple[list[int], list[float]]:
    return [p["radius"] for p in curve], [p["certified_accuracy"] for p in curve]
