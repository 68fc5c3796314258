"""Writing a run's results: per-text JSON Lines, summary JSON, Markdown summary, PNG curve, resolved config.

Everything is written atomically into one output folder, so a run's folder is
either complete or shows which parts are missing.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crowd.io import write_bytes, write_json, write_jsonl, write_text


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (else what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> str:
    """A short description of the machine: CPU model and core count, plus the CUDA device if any."""
    text = f"{cpu_model()}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            text += f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:  # pragma: no cover
        pass
    return text


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as a PNG atomically and close it."""
    import io

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    pyplot().close(fig)
    return write_bytes(path, buffer.getvalue())


def plot_curves(
    path: str | os.PathLike[str],
    curves: Mapping[str, tuple[Sequence[int], Sequence[float], int | None]],
    title: str,
    xlabel: str,
) -> Path:
    """Certified accuracy against radius: ``{label: (radii, accuracies, attack budget or None)}``.

    Each curve is a step line; its budget, when the certificate covers the attack, a dashed line of
    the same colour.
    """
    from matplotlib.ticker import MaxNLocator

    fig, ax = pyplot().subplots(figsize=(7, 4.5), dpi=120)
    for label, (xs, ys, budget) in curves.items():
        line = ax.step(list(xs), list(ys), where="post", label=label)[0]
        if budget is not None:
            ax.axvline(
                budget, color=line.get_color(), linestyle="--", alpha=0.7, label=f"attack budget ({budget})"
            )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    right = max(
        [max(xs, default=0) for xs, _, _ in curves.values()] + [b or 0 for _, _, b in curves.values()] + [5]
    )
    ax.set_xlim(-0.2, right * 1.04 + 0.5)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def write_run(
    folder: str | os.PathLike[str],
    per_text: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    markdown: str,
    config: Mapping[str, Any],
) -> Path:
    """The standard output folder of a run: ``per_text.jsonl``, ``summary.json``, ``summary.md``, ``config.json``."""
    folder = Path(folder)
    write_json(folder / "config.json", config)
    write_jsonl(folder / "per_text.jsonl", per_text)
    write_json(folder / "summary.json", summary)
    write_text(folder / "summary.md", markdown)
    return folder
