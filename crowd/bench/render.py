"""Markdown tables rendered from result rows (never edited by hand), one layout per table or figure.

Every table is followed by a footer naming, for the rows shown, the scale,
hardware, model, N, α, seed and corpus sizes. A cell without a row is shown as
``pending``; an error row as ``error`` with its message listed under the table.
A row's method is marked ``[old code]`` when its ``code_version`` differs from today's
(:mod:`crowd.bench.version`), ``[unverified]`` when it has none (written before code versions
existed) and ``[reused votes]`` when some of its votes were stored by an earlier run.

``LAYOUTS`` draws each layout that :data:`crowd.bench.grid.LAYOUT_NAMES` names (the names a config may
give): its table here, its README summary (:mod:`crowd.bench.summary`) and its plots (:mod:`crowd.bench.plots`).

A page is drawn from a run (:class:`crowd.bench.runner.BenchRun`) or from a results folder's committed rows
(:mod:`crowd.bench.pages`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crowd.bench.summary as summaries
from crowd.bench.grid import Cell
from crowd.bench.markdown import cert_at, certifies, status, table
from crowd.bench.plots import (
    frontier_name,
    frontier_point,
    plot_certified_curves,
    plot_frontier,
    plot_rates_by_corpus,
)
from crowd.defenses import DEFENSES, NO_DEFENSE
from crowd.io import write_text
from crowd.methods import METHODS
from crowd.train.settings import LEARNERS

CONFIDENT = "confident acc. (radius 0)"

# How the undefended victim's numbers are defined differently from the CROWD paper's (THEORY §4); certified
# methods and defenses carry their own note (``paper_note``; docs/defenses.md).
UNDEFENDED_NOTE = "ASR = poisoned non-target test texts classified as the target (CROWD's code: 1 − accuracy); base rate beside it"


def definition_note(method: str) -> str:
    """How a method's numbers are defined differently from the paper's (its class says it; KeyError if unknown)."""

    if method in METHODS:
        return METHODS[method].paper_note
    return DEFENSES[method].paper_note if method in DEFENSES else {NO_DEFENSE: UNDEFENDED_NOTE}[method]


def pct(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.1f}"


def at_budget(row: Mapping[str, Any]) -> str:
    if row.get("kind") != "certify":
        return "—"
    if row.get("not_covered_reason"):
        return "not covered"
    budget, every = row.get("attack_budget"), pct(row.get("certified_accuracy_at_budget"))
    if row.get("certified_accuracy_non_target_at_budget") is None:  # no target class, or an older row
        return f"{every} (budget {budget})"
    non_target = pct(row["certified_accuracy_non_target_at_budget"])
    constant = pct(row.get("constant_certified_accuracy"))
    return f"non-target {non_target}; all {every} (constant {constant}) (budget {budget})"


MARKS = {
    "old code": "computed by code that has changed since (its `code_version` differs from today's; "
    "`crowd bench` recomputes it)",
    "unverified": "written before rows carried a `code_version`: not verified against today's code",
    "reused votes": "some models' votes were stored by an earlier run and re-used (possibly older code)",
}


def provenance(c: Cell, row: Mapping[str, Any] | None) -> list[str]:
    """The marks of ``row`` (keys of :data:`MARKS`): old or unknown code version, re-used votes."""
    if row is None:
        return []
    stored = row.get("code_version")
    marks = ["unverified"] if stored is None else ["old code"] if stored != c.code_version else []
    return marks + (["reused votes"] if row.get("reused_votes") else [])


def method_label(c: Cell, row: Mapping[str, Any] | None) -> str:
    """The cell's method with its provenance marks, e.g. ``rap [old code]``."""
    marks = provenance(c, row)
    return c.method + (f" [{', '.join(marks)}]" if marks else "")


def legend(cells: Sequence[Cell], rows: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per mark used in the table."""
    used = {m for c in cells for m in provenance(c, rows.get(c.cell_id))}
    return "".join(f"- `[{m}]`: {text}\n" for m, text in MARKS.items() if m in used)


def index_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {r["cell_id"]: r for r in rows}


def paper_value(paper: Mapping[str, Any], c: Cell) -> str:
    """The published ``CACC / ASR / cert.`` of the cell's method on its corpus and attack, if the paper has it."""
    values = paper.get(c.dataset, {}).get(f"{c.attack.name}@{c.rate:g}", {}).get(c.runs)
    return " / ".join(f"{v:g}" for v in values) if values else "—"


def table2(
    cells: Sequence[Cell], rows: Mapping[str, Mapping[str, Any]], radii: Sequence[int], paper=None
) -> str:
    header = ["dataset", "attack (rate)", "poisoned / train", "method", "CACC", "ASR", "base rate"]
    header += [
        "FRR / FAR (calibration texts)",
        CONFIDENT,
        "certified acc. at budget",
        "certified triggered acc.",
        "paper CACC / ASR / cert.",
        "how ours differs",
    ]
    body = []
    for c in cells:
        r = rows.get(c.cell_id)
        st = status(r)
        label = f"{c.attack.name} ({c.attack.label + ', ' if c.attack.label else ''}{c.rate:g})"
        poisoned = "—" if st else f"{r.get('n_poisoned_train', '?')} / {r.get('n_train', '?')}"
        if st:
            metrics = [st] * 7
        else:
            certified = certifies(c, r)
            conf = pct(r.get("confident_accuracy")) if certified else "—"
            triggered = pct(r.get("certified_triggered_accuracy_at_budget")) if certified else "—"
            base = r.get("undefended_base_rate") if c.runs == NO_DEFENSE else r.get("base_rate")
            budget = at_budget(r) if certified else "—"
            metrics = [
                pct(r.get("cacc")),
                pct(r.get("asr")),
                pct(base),
                _detection(r),
                conf,
                budget,
                triggered,
            ]
        body.append(
            [
                c.dataset,
                label,
                poisoned,
                method_label(c, r),
                *metrics,
                paper_value(paper or {}, c),
                c.note or definition_note(c.runs),
            ]
        )
    return table(header, body)


def _detection(r: Mapping[str, Any]) -> str:
    """A detector's FRR / FAR on the test texts and the number of dev texts its threshold came from."""
    if r.get("frr") is None or r.get("far") is None:
        return "—"
    n = (r.get("detector") or {}).get("n_calibration")
    return f"{pct(r['frr'])} / {pct(r['far'])}" + (f" ({n})" if n is not None else "")


def triggers_table(
    cells: Sequence[Cell], rows: Mapping[str, Mapping[str, Any]], radii: Sequence[int], paper=None
) -> str:
    """Word partitions against trigger size: budget in groups, clean and triggered certified accuracy."""
    header = ["dataset", "attack (trigger words)", "method", "CACC", "ASR", "base rate", "budget"]
    header += ["cert. acc. at budget"]
    header += ["cert. triggered acc. at budget"] + [f"cert. acc. r={k}" for k in radii]
    body = []
    for c in cells:
        r = rows.get(c.cell_id)
        st = status(r)
        label = f"{c.attack.name} ({c.attack.label or c.attack.params})"
        if st:
            body.append([c.dataset, label, method_label(c, r), *[st] * (6 + len(radii))])
            continue
        metrics = [
            pct(r.get("cacc")),
            pct(r.get("asr")),
            pct(r.get("base_rate")),
            str(r.get("attack_budget")),
        ]
        metrics += [at_budget(r)]
        metrics += [pct(r.get("certified_triggered_accuracy_at_budget"))]
        metrics += [pct(cert_at(r, k)) for k in radii]
        body.append([c.dataset, label, method_label(c, r), *metrics])
    return table(header, body)


def table3(
    cells: Sequence[Cell], rows: Mapping[str, Mapping[str, Any]], radii: Sequence[int], paper=None
) -> str:
    """Each noise's CACC, ASR and certified accuracy on both sides (THEORY §3): the training side (radius in
    substitutions of the training texts, and at the attack's budget) and the test side (substitutions of the
    test text itself), with the paper's published "certified accuracy" beside them."""
    sides = "/".join(str(r) for r in radii)
    header = ["dataset", "attack", "rate", "noise", "training", "CACC", "ASR", CONFIDENT]
    header += [f"training side r={sides}", "at budget", f"test side r={sides}", "paper"]
    body = []
    for c in cells:
        r = rows.get(c.cell_id)
        st = status(r)
        training = _training(c)
        if st:
            metrics = [st] * 6
        else:
            train_side = r.get("certificate") != "test_tv"
            metrics = [pct(r.get("cacc")), pct(r.get("asr")), pct(r.get("confident_accuracy"))]
            metrics += [_side(r, radii, "curve") if train_side else "—", at_budget(r) if train_side else "—"]
            metrics += [_side(r, radii, "test_side_curve")]
        body.append([c.dataset, c.attack.name, f"{c.rate:g}", method_label(c, r), training, *metrics])
        body[-1].append(paper_value(paper or {}, c))
    return table(header, body)


def _training(c: Cell) -> str:
    """How a Table 3 cell's classifier was trained: N models on noisy copies, one model on noise-augmented
    copies (the papers' released training), or ConvexCertify's one IBP-trained model."""
    if c.kind == "ciss":
        return "one model, IBP-trained"
    return "one model, augmented" if c.config.get("method", {}).get("training") == "augmented" else "N copies"


def _side(row: Mapping[str, Any], radii: Sequence[int], key: str) -> str:
    """Certified accuracy at each radius from one of a row's curves, ``a / b / c``; ``—`` without that curve."""
    if row.get(key) is None:
        return "—"
    return " / ".join(pct(cert_at(row, k, key)) for k in radii)


def figure2(
    cells: Sequence[Cell], rows: Mapping[str, Mapping[str, Any]], radii: Sequence[int], paper=None
) -> str:
    header = ["dataset", "attack", "rate", "method", "CACC", "ASR", "undefended CACC", "undefended ASR"]
    body = []
    for c in cells:
        r = rows.get(c.cell_id)
        st = status(r)
        if st:
            metrics = [st] * 4
        else:
            metrics = [
                pct(r.get("cacc")),
                pct(r.get("asr")),
                pct(r.get("undefended_cacc")),
                pct(r.get("undefended_asr")),
            ]
        body.append([c.dataset, c.attack.name, f"{c.rate:g}", method_label(c, r), *metrics])
    return table(header, body)


def curve_table(
    cells: Sequence[Cell], rows: Mapping[str, Mapping[str, Any]], radii: Sequence[int], paper=None
) -> str:
    header = ["dataset", "attack (rate, variant)", "method", "noise", "CACC", "ASR", CONFIDENT]
    header += ["attack budget (unit)", "certified acc. at budget", "certified accuracy vs radius"]
    header += ["test side: triggered texts certified at the trigger's size"]
    body = []
    for c in cells:
        r = rows.get(c.cell_id)
        st = status(r)
        label = f"{c.attack.name} ({c.rate:g}, {c.attack.variant})"
        if st:
            body.append([c.dataset, label, method_label(c, r), *[st] * 8])
            continue
        budget = "not covered" if r.get("not_covered_reason") else str(r.get("attack_budget"))
        budget = f"{budget} ({r.get('radius_unit')})" if r.get("kind") == "certify" else "— (no certificate)"
        curve = " · ".join(f"r={p['radius']}: {pct(p['certified_accuracy'])}" for p in r.get("curve", [])[:8])
        noise = ", ".join(f"{k}={v}" for k, v in r.get("method_params", {}).items())
        metrics = [pct(r.get("cacc")), pct(r.get("asr")), pct(r.get("confident_accuracy"))]
        metrics += [budget, at_budget(r), curve or "—", triggered_test_side(r)]
        body.append([c.dataset, label, method_label(c, r), noise, *metrics])
    return table(header, body)


def triggered_test_side(row: Mapping[str, Any]) -> str:
    """The test side's certified accuracy on triggered non-target texts, each at its own trigger's size."""
    if "test_side_certificate" not in row:
        return "—"
    value = row.get("test_side_certified_accuracy_at_budget")
    if value is None:
        return "not covered"
    missed = row.get("test_side_n_not_covered") or 0
    extra = f", {missed} triggers not covered" if missed else ""
    return f"{pct(value)} (≤ {row.get('test_side_budget')} substitutions{extra})"


def wordgroups_table(
    cells: Sequence[Cell], rows: Mapping[str, Mapping[str, Any]], radii: Sequence[int], paper=None
) -> str:
    """Word-group learners and group counts: certified accuracy on non-target texts first (THEORY §4), the
    collective guarantee, then all texts beside the constant classifier, CACC, base rate and cost."""
    header = ["dataset", "attack", "method", "world", "budget", "non-target cert. acc. at budget"]
    header += [
        "collective (non-target)",
        "all-text cert. acc. (constant)",
        "by true class",
        "CACC",
        "base rate",
    ]
    header += ["ASR", "wall s", "process peak GiB"]
    body = []
    for c in cells:
        r = rows.get(c.cell_id)
        label = c.attack.label or c.attack.name
        world = c.config.get("world", "observed")
        st = status(r)
        if st:
            body.append([c.dataset, label, method_label(c, r), world, *[st] * 10])
            continue
        covered = not r.get("not_covered_reason")
        metrics = [
            str(r.get("attack_budget")) if covered else "not covered",
            pct(r.get("certified_accuracy_non_target_at_budget")),
            pct(r.get("collective_certified_accuracy_non_target_at_budget")),
            f"{pct(r.get('certified_accuracy_at_budget'))} ({pct(r.get('constant_certified_accuracy'))})",
            " / ".join(pct(v) for v in (r.get("per_class_certified_accuracy_at_budget") or {}).values())
            or "—",
            pct(r.get("cacc")),
            pct(r.get("base_rate")),
            pct(r.get("asr")),
            f"{r.get('wall_s', 0):.0f}",
            "—" if r.get("peak_rss_gib") is None else f"{r['peak_rss_gib']:.2f}",
        ]
        body.append([c.dataset, label, method_label(c, r), world, *metrics])
    return table(header, body)


@dataclass(frozen=True)
class Layout:
    """A table or figure: its full Markdown table, its one-line-per-corpus README summary
    (:mod:`crowd.bench.summary`) and its PNG plots (:mod:`crowd.bench.plots`; none for a plain table)."""

    table: Callable[..., str]
    summary: Callable[..., str]
    plot: Callable[[Any], list[Path]] | None = None
    figures: Callable[[Any], str] | None = None  # Markdown under the table linking the plots


def frontier(run) -> list[Path]:
    """The ``wordgroups`` layout's plot: :func:`crowd.bench.plots.plot_frontier` over the run's rows, then
    those of the tables its ``plot_with`` names (``run.plot_with_rows``)."""
    return plot_frontier(run, [*run.rows, *run.plot_with_rows])


def frontier_link(run) -> str:
    """The line under a ``wordgroups`` table linking its frontier plot (:func:`crowd.bench.plots.plot_frontier`)."""
    if not any(frontier_point(r) for r in run.rows):
        return ""
    also = (
        f"; with the rows of {', '.join(Path(p).stem for p in run.config.plot_with)}"
        if run.config.plot_with
        else ""
    )
    name = frontier_name(run.config.name)
    return (
        f"\nPlot: [{name}]({name}): non-target certified accuracy at the budget against CACC, reference "
        f"world, one panel per corpus and dirty-label attack, one line per learner and FA spread d, points "
        f"labelled by k{also}.\n"
    )


# The benchmark layouts, one per name of crowd.bench.grid.LAYOUT_NAMES, in that order: a config's ``layout``
# names one (:mod:`crowd.bench.spec` checks the name).
LAYOUTS: dict[str, Layout] = {
    "table2": Layout(table2, summaries.table2),
    "wordgroups": Layout(wordgroups_table, summaries.wordgroups, frontier, frontier_link),
    "table3": Layout(table3, summaries.table3, plot_certified_curves),
    "figure2": Layout(figure2, summaries.figure2, plot_rates_by_corpus),
    "curve": Layout(curve_table, summaries.curve, plot_certified_curves),
    "triggers": Layout(triggers_table, summaries.triggers, plot_certified_curves),
}


def _uses_model(learner: str | None) -> bool:
    """Whether rows of this learner ran an encoder model (older rows name one even for model-free learners)."""
    return learner not in LEARNERS or LEARNERS[learner].uses_model


def _setting(r: Mapping[str, Any]) -> str:
    if r.get("kind") == "ciss":
        p = r.get("settings") or {}
        return (
            f"ConvexCertify: scale {r['scale']}; {r.get('hardware')}; CNN over {p.get('vectors')} "
            f"(max length {p.get('max_length')}, {p.get('epochs')} epochs); σ = {p.get('sigma')}, "
            f"N = {p.get('n_samples')}, α = {p.get('alpha')}; seed {r.get('seed')}; {r.get('n_train')} training "
            f"texts, {r.get('n_test_clean')} clean test texts"
        )
    if r.get("kind") == "certify":
        return (
            f"certified: scale {r['scale']}; {r.get('hardware')}; learner {r.get('learner')}"
            f"{f' on {model}' if (model := r.get('model')) and _uses_model(r.get('learner')) else ''} "
            f"(max length {r.get('max_length')}); N = {r.get('n_copies')}, "
            f"α = {r.get('alpha')} ({r.get('selection')}); seed {r.get('seed')}; "
            f"{r.get('n_train')} training texts, {r.get('n_test_clean')} clean test texts"
        )
    return (
        f"empirical: scale {r['scale']}; {r.get('hardware')}; victim {r.get('model')} "
        f"(epochs: {r.get('victim_epochs')}); seed {r.get('seed')}; {r.get('n_train')} training texts, "
        f"{r.get('n_test_clean')} clean test texts"
    )


def footer(rows: Sequence[Mapping[str, Any]]) -> str:
    """Scale, hardware, model, N, α, seed and sizes of the rows shown: one line per distinct setting."""
    settings: dict[str, list[str]] = {}
    for r in rows:
        if r.get("status") == "ok":
            methods = settings.setdefault(_setting(r), [])
            if r["method"] not in methods:
                methods.append(r["method"])
    return "".join(f"- {', '.join(m)} — {s}\n" for s, m in settings.items())


def errors(rows: Sequence[Mapping[str, Any]]) -> str:
    bad = [r for r in rows if r.get("status") == "error"]
    return "".join(f"- `{r['cell_id']}`: {r['error']}\n" for r in bad)


def render(run) -> str:
    """The Markdown page of a benchmark run (title, table, footer, errors, notes)."""
    config = run.config
    rows = index_rows(run.rows)
    layout = LAYOUTS[config.layout]
    parts = [f"# {config.title}\n", layout.table(run.cells, rows, config.radii, run.paper)]
    if layout.figures is not None and (figures := layout.figures(run)):
        parts.append(figures)
    parts.append(
        "\nAll figures in percent. Settings of the rows shown:\n\n"
        + (footer(run.rows) or "- (no rows yet)\n")
    )
    marks = legend(run.cells, rows)
    if marks:
        parts.append("\nMarks after a method:\n\n" + marks)
    if errors(run.rows):
        parts.append("\nCells that failed (error rows; re-run with `--retry-errors`):\n\n" + errors(run.rows))
    if config.notes:
        parts.append("\nNotes:\n\n" + "".join(f"- {n}\n" for n in config.notes))
    return "\n".join(parts)


def write_outputs(run) -> None:
    """``<name>.md`` and the layout's PNG plots next to ``rows.jsonl``."""

    write_text(run.out / f"{run.config.name}.md", render(run))
    plot = LAYOUTS[run.config.layout].plot
    if plot is not None:
        plot(run)
