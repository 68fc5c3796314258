"""PNG plots rendered from result rows (matplotlib, Agg backend, written atomically)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    from crowd.io import write_bytes

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    _pyplot().close(fig)
    write_bytes(path, buffer.getvalue())


def _ok(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") == "ok"]


def plot_rates(rows: Sequence[Mapping[str, Any]], path: Path, title: str) -> Path | None:
    """CACC and ASR against poison rate, one line per method (Figure 2)."""
    rows = _ok(rows)
    if not rows:
        return None
    plt = _pyplot()
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
    _save(fig, path)
    return path


def plot_curves(rows: Sequence[Mapping[str, Any]], path: Path, title: str) -> Path | None:
    """Certified accuracy against radius, one step line per certified row; budgets as dashed lines."""
    rows = [r for r in _ok(rows) if r.get("curve")]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    units = set()
    for r in rows:
        xs = [p["radius"] for p in r["curve"]]
        ys = [p["certified_accuracy"] for p in r["curve"]]
        label = f"{r['dataset']} {r['attack']}@{r['poison_rate']:g} {r['method']} (N={r.get('n_copies')})"
        line = ax.step(xs, ys, where="post", label=label)[0]
        if r.get("attack_budget") is not None and not r.get("not_covered_reason"):
            ax.axvline(r["attack_budget"], color=line.get_color(), linestyle="--", alpha=0.6)
        units.add(str(r.get("radius_unit")))
    ax.set_xlabel(" / ".join(sorted(units)), fontsize=8)
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    _save(fig, path)
    return path


def plot_layout(run) -> list[Path]:
    """The plots of a run's layout, next to its rows."""
    name, rows, written = run.config.name, list(run.rows), []
    if run.config.layout == "figure2":
        groups: dict[tuple[str, str], list] = {}
        for r in rows:
            groups.setdefault((r["dataset"], r["attack"]), []).append(r)
        for (dataset, attack), group in groups.items():
            path = plot_rates(group, run.out / f"{name}_{dataset}_{attack}.png", f"{dataset} / {attack}")
            written += [path] if path else []
    elif run.config.layout in ("table3", "curve"):
        path = plot_curves(rows, run.out / f"{name}_curves.png", run.config.title)
        written += [path] if path else []
    return written
