"""Step 4 of ``crowd certify``: the report of a run, from its certificates and votes to its files.

The work is split by what it makes (THEORY §4 for the metrics):

- :mod:`crowd.pipelines.report_metrics`: the numbers, as a typed
  :class:`~crowd.pipelines.report_summary.CertifySummary` (:mod:`crowd.pipelines.report_summary`), with the
  label flips and worlds of :mod:`crowd.pipelines.report_worlds`;
- :mod:`crowd.pipelines.report_markdown`: the Markdown page, rendered from that record;
- this module: :func:`summarise` (record, dict and page as one :class:`CertifyReport`) and :func:`write_report`
  (``per_text.jsonl``, ``summary.json``, ``summary.md``, ``config.json`` and ``curve.png``), with the config
  as run (:func:`resolved_config`). The names other modules import from here stay here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crowd.certify import Certificate
from crowd.config import to_dict
from crowd.data import Corpus
from crowd.methods import Plan
from crowd.pipelines.config import LEARNER_SECTIONS, CertifyConfig
from crowd.pipelines.report_markdown import render_markdown
from crowd.pipelines.report_metrics import base_rate, certify_warnings, summarise_run
from crowd.pipelines.report_summary import CertifySummary, Curve
from crowd.pipelines.report_worlds import (
    covered_budget,
    has_target,
    label_flips,
    label_flips_note,
    reference_world,
    trained_on,
)
from crowd.report import plot_curves, write_run
from crowd.train.devices import device_name

__all__ = [
    "CertifyReport",
    "CertifySummary",
    "base_rate",
    "certify_warnings",
    "covered_budget",
    "has_target",
    "label_flips",
    "label_flips_note",
    "reference_world",
    "render_markdown",
    "resolved_config",
    "summarise",
    "trained_on",
    "write_report",
]


@dataclass(frozen=True)
class CertifyReport:
    """What a run produced: certificates for the clean and the poisoned test texts, and the summary.

    ``record`` holds the summary's numbers, typed; ``summary`` is ``record.as_dict()``, the table written to
    ``summary.json`` (a run may add keys to it before writing, e.g. ``feature_cache``), and ``markdown`` the
    page rendered from ``record``.
    """

    clean: tuple[Certificate, ...]
    poison: tuple[Certificate, ...]
    summary: dict[str, Any]
    curve: tuple[tuple[int, float], ...]
    markdown: str
    record: CertifySummary
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
    """Metrics of THEORY §4 for one run, as a typed record, a summary dict, a curve and a Markdown page.

    ``votes`` ``(models, clean + triggered texts)`` (``-1`` = abstained) give word partitions' collective
    certified accuracy; without them it is left out (:func:`crowd.pipelines.report_metrics.summarise_run`).
    """
    record = summarise_run(config, data, spec, clean, poison, majority, reused, votes)
    curve = tuple((p.radius, p.certified_accuracy) for p in record.curve)
    group_votes = votes if votes is not None and spec.word_groups else None
    return CertifyReport(
        tuple(clean), tuple(poison), record.as_dict(), curve, render_markdown(record), record, group_votes
    )


def write_report(
    out: str | os.PathLike[str], config: CertifyConfig, data: Corpus, report: CertifyReport
) -> None:
    """per_text.jsonl, summary.json, summary.md, config.json and curve.png into ``out``."""
    deterministic = report.record.run.selection == "deterministic"
    rows = per_text_rows(data, report)
    write_run(out, rows, report.summary, report.markdown, resolved_config(config, deterministic))
    plot_report(Path(out) / "curve.png", report.record)


def per_text_rows(data: Corpus, report: CertifyReport) -> list[dict[str, Any]]:
    """One ``per_text.jsonl`` row per test text, clean then triggered: the text, its labels, its certificate
    and (word partitions) each group's vote, ``-1`` where the group abstained."""
    rows = []
    offset = {"clean": 0, "poison": len(report.clean)}
    for split, examples, certs in (
        ("clean", data.test_clean, report.clean),
        ("poison", data.test_poison, report.poison),
    ):
        for i, (e, c) in enumerate(zip(examples, certs)):
            votes = {}
            if report.group_votes is not None:
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
    return rows


def plot_report(path: Path, s: CertifySummary) -> None:
    """The run's certified-accuracy curves (non-target, all clean texts, triggered) against the constant
    classifier, with the covered budget marked on the first curve."""
    run, aimed = s.run, s.aimed
    budget = s.attack_budget if s.covered else None
    curves = {}
    if aimed.non_target_curve:
        name = f"{run.dataset} clean non-target test (true label ≠ {run.target_label})"
        curves[name] = (*_xy(aimed.non_target_curve), budget)
    curves[f"{run.dataset} clean test, all texts"] = (*_xy(s.curve), None if curves else budget)
    if s.triggered_curve:
        curves[f"{run.dataset} triggered test (true label)"] = (*_xy(s.triggered_curve), None)
    plot_curves(
        path,
        curves,
        f"{run.dataset} / {run.attack}: {run.certificate} certificate, N = {run.n_copies}",
        run.radius_unit,
        baseline=(
            aimed.constant_certified_accuracy,
            f"constant classifier, all texts (class {aimed.constant_class})",
        ),
    )


SAMPLING_KEYS = ("n_copies", "alpha", "selection", "n_selection", "simultaneous", "allow_uncertifiable")
ATTACK_KEYS = ("name", "poison_rate", "target_label", "variant", "preset")  # every attack's


def resolved_config(config: CertifyConfig, deterministic: bool = False) -> dict[str, Any]:
    """The config as run, holding only what the run used: the data root actually read (``--data`` or
    ``$CROWD_DATA``) filled in; the chosen learner's sections only; the attack's keys that apply to every
    attack and the others only where they differ from their defaults; no sampling keys for a deterministic
    method (``deterministic``). Under ``used``: the device and the dtype the learner computed in (bf16 only
    on CUDA; a record, not a setting: a config holding it is refused, drop it to rerun). Keys left out take their
    defaults when the file is read back, so the run is the same."""

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
    device = device_name(config.model.device, config.learner.uses_torch)
    dtype = getattr(config.learner, "dtype", "fp32")
    table["used"] = {"device": device, "dtype": dtype if device.startswith("cuda") else "fp32"}
    return table


def _xy(curve: Curve) -> tuple[list[int], list[float]]:
    return [p.radius for p in curve], [p.certified_accuracy for p in curve]
