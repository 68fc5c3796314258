"""PNG plots rendered from result rows (matplotlib, Agg backend, written atomically)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
