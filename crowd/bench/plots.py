"""PNG plots rendered from result rows (matplotlib, Agg backend, written atomically)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crowd.io import write_bytes
from crowd.report import plot_curves as plot
from crowd.report import pyplot, save_figure


def _ok(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") == "ok"]


def plot_rates(rows: Sequence[Mapping[str, Any]], path: Path, title: str) -> Path | None:
    """CACC and ASR against poison rate, one line per method (Figure 2)."""
    rows = _ok(rows)
    if not rows:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["poison_rate"])
        xs = [r["poison_rate"] for r in mine]
        for ax, key in zip(axes, ("cacc", "asr")):
            ys = [r.get(key) for r in mine]
            ax.plot(xs, [float("nan") if y is None else y for y in ys], marker="o", label=method)
    for ax, name in zip(axes, ("CACC", "ASR (non-target poisoned test texts)")):
        ax.set_xlabel("poison rate")
        ax.set_ylabel(name)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
    return path


def plot_curves(rows: Sequence[Mapping[str, Any]], path: Path, title: str) -> Path | None:
    """Certified accuracy against radius, one step line per certified row; covered budgets as dashed lines."""

    rows = [r for r in _ok(rows) if r.get("curve")]
    if not rows:
        return None
    curves = {}
    for r in rows:
        attack = f"{r['attack']} [{r['attack_label']}]" if r.get("attack_label") else r["attack"]
        label = f"{r['dataset']} {attack}@{r['poison_rate']:g} {r['method']} (N={r.get('n_copies')})"
        covered = r.get("attack_budget") is not None and not r.get("not_covered_reason")
        curves[label] = (
            [p["radius"] for p in r["curve"]],
            [p["certified_accuracy"] for p in r["curve"]],
            r["attack_budget"] if covered else None,
        )
    units = " / ".join(sorted({str(r.get("radius_unit")) for r in rows}))
    return plot(path, curves, title, units)


def plot_rates_by_corpus(run) -> list[Path]:
    """Figure 2's plots: CACC and ASR against poison rate, one PNG per corpus and attack, next to the rows."""
    groups: dict[tuple[str, str], list] = {}
    for r in run.rows:
        groups.setdefault((r["dataset"], r["attack"]), []).append(r)
    paths = [
        plot_rates(group, run.out / f"{run.config.name}_{dataset}_{attack}.png", f"{dataset} / {attack}")
        for (dataset, attack), group in groups.items()
    ]
    return [p for p in paths if p]


def plot_certified_curves(run) -> list[Path]:
    """Certified accuracy against radius of every certified row, one PNG next to the rows."""
    path = plot_curves(list(run.rows), run.out / f"{run.config.name}_curves.png", run.config.title)
    return [path] if path else []


def frontier_name(table: str) -> str:
    """The frontier plot's file name: ``<table>_frontier.png`` (bench's own plots are ``<table>_*.png``)."""
    return f"{table}_frontier.png"
FRONTIER_COLOURS = {
    "bow": "C0",
    "bow+vectors": "C1",
    "bow+NB": "C5",
    "bow+NB+vectors": "C6",
    "head": "C2",
    "bow+head": "C3",
    "partial": "C4",
}
FRONTIER_STYLES = {1: "-", 2: "--", 3: ":"}
PRETTY = {"sst2": "SST-2", "hsol": "HSOL", "offenseval": "OffensEval"}


def frontier_point(
    row: Mapping[str, Any],
) -> tuple[tuple[str, str], tuple[str, int], int, float, float] | None:
    """A word-partition row as a point of the frontier plot: ((dataset, attack label), (learner, spread d),
    k, CACC, non-target certified accuracy at the budget); ``None`` for a row the plot leaves out (not a
    finished reference-world row of dirty-label BadNets with plurality votes, abstaining empty sub-texts and
    class-balanced group models, or not covered)."""
    params = row.get("method_params") or {}
    label = row.get("attack_label") or ""
    y, x = row.get("certified_accuracy_non_target_at_budget"), row.get("cacc")
    if (
        row.get("status") != "ok"
        or "groups" not in params  # word partitions (the method's md5 word groups)
        or row.get("world") != "reference"
        or not label.startswith("dirty")
        or (params.get("aggregation"), params.get("empty"), params.get("class_weight"))
        != ("plurality", "abstain", "balanced")
        or row.get("not_covered_reason")
        or x is None
        or y is None
    ):
        return None
    spread = int(params.get("spread") or 1)
    bow = (row.get("config") or {}).get("bow") or {}
    learner = (
        str(row.get("learner"))
        + ("+NB" if bow.get("nb") else "")
        + ("+vectors" if bow.get("vectors") else "")
    )
    return (row["dataset"], label), (learner, spread), int(params["groups"]) // spread, float(x), float(y)


def plot_frontier(run, rows: Sequence[Mapping[str, Any]]) -> list[Path]:
    """Word partitions (``wordgroups`` layout): non-target certified accuracy at the attack's budget against
    CACC in the reference world, one panel per corpus and attack, one line per learner and spread d (FA;
    d = 1 is plain word partitions), points labelled by k, written to ``<out>/<table>_frontier.png``. A setting in
    several tables is drawn once, from the first row of ``rows`` (the run's own before ``plot_with``'s)."""
    points: dict[tuple[str, str], dict[tuple[str, int], dict[int, tuple[float, float]]]] = {}
    for row in rows:
        point = frontier_point(row)
        if point is not None:
            panel, line, k, x, y = point
            points.setdefault(panel, {}).setdefault(line, {}).setdefault(k, (x, y))
    if not points:
        return []
    datasets = list(dict.fromkeys(d for d, _ in points))
    attacks = sorted({a for _, a in points})
    plt = pyplot()
    fig, axes = plt.subplots(
        len(datasets), len(attacks), figsize=(5.5 * len(attacks), 4.5 * len(datasets)), dpi=120, squeeze=False
    )
    order = list(FRONTIER_COLOURS)
    for i, dataset in enumerate(datasets):
        for j, attack in enumerate(attacks):
            ax = axes[i][j]
            lines = points.get((dataset, attack), {})
            ranked = sorted(lines, key=lambda lc: (order.index(lc[0]) if lc[0] in order else len(order), lc))
            for learner, spread in ranked:
                ks = sorted(lines[learner, spread])
                xs, ys = zip(*(lines[learner, spread][k] for k in ks))
                ax.plot(
                    xs,
                    ys,
                    FRONTIER_STYLES.get(spread, "-."),
                    marker="o",
                    markersize=3,
                    color=FRONTIER_COLOURS.get(learner, "C7"),
                    label=f"{learner}, d={spread}",
                )
                for k, x, y in zip(ks, xs, ys):
                    ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
            ax.set_title(f"{PRETTY.get(dataset, dataset)} / BadNets ({attack})", fontsize=10)
            ax.set_xlabel("CACC")
            ax.set_ylabel("non-target certified acc. at budget")
            ax.grid(alpha=0.3)
    legend: dict[str, Any] = {}  # one legend for every panel, below them
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.suptitle(
        "Word partitions, reference world: certified accuracy on non-target texts against CACC "
        "(points: k groups; FA spread d)",
        fontsize=10,
    )
    path = Path(run.out) / frontier_name(run.config.name)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=min(len(legend), 5), fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})  # no matplotlib version in the file
    plt.close(fig)
    write_bytes(path, buffer.getvalue())
    return [path]
