"""Writing a run's results: per-text JSON Lines, summary JSON, Markdown summary, PNG curve, resolved config.

Every file is written atomically into one output folder; the four result files of a run
(``per_text.jsonl``, ``summary.json``, ``summary.md``, ``config.json``) are written as one set with a
``manifest.json`` last (:func:`crowd.io.write_set`), so :func:`read_run` never returns the config of one
run beside the summary of another, even after a kill between two writes. Orphan temporary files of a
killed earlier write are removed.
"""

from __future__ import annotations

import io
import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowd.io import json_bytes, jsonl_bytes, read_set, write_bytes, write_set
from crowd.paths import matplotlib_dir


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
    """A short description of the machine: CPU model and core count, plus the CUDA device if any.

    The device is asked of torch when the process has imported it (every run that trains has); a process
    without torch used no GPU, and this module is light (it imports without torch)."""
    text = f"{cpu_model()}, {os.cpu_count()} cores"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed).

    matplotlib writes a font cache (and reads its config) in ``MPLCONFIGDIR``, else in the home folder; with
    ``CROWD_CACHE`` set that folder is ``$CROWD_CACHE/matplotlib`` (:func:`crowd.paths.matplotlib_dir`) unless
    ``MPLCONFIGDIR`` is set, so nothing is written under the home folder."""
    folder = matplotlib_dir()
    if folder is not None and "matplotlib" not in sys.modules:
        os.environ.setdefault("MPLCONFIGDIR", str(folder))
    import matplotlib.pyplot as plt  # lazy: matplotlib reads MPLCONFIGDIR on import and writes its font cache

    plt.matplotlib.use("Agg", force=True)  # before any figure; pyplot chooses no backend on import
    return plt


def save_figure(fig, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as a PNG atomically and close it."""
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
    baseline: tuple[float, str] | None = None,
) -> Path:
    """Certified accuracy against radius: ``{label: (radii, accuracies, attack budget or None)}``.

    Each curve is a step line; its budget, when the certificate covers the attack, a dashed line of
    the same colour with the value at the budget marked by a point and its label. ``baseline = (value,
    label)``: a dotted horizontal line (e.g. a constant classifier).
    """
    fig, ax = pyplot().subplots(figsize=(7, 4.5), dpi=120)
    for label, (xs, ys, budget) in curves.items():
        line = ax.step(list(xs), list(ys), where="post", label=label)[0]
        if budget is not None:
            ax.axvline(
                budget, color=line.get_color(), linestyle="--", alpha=0.4, label=f"attack budget ({budget})"
            )
            value = value_at(xs, ys, budget)
            ax.plot([budget], [value], "o", color=line.get_color(), markersize=6, zorder=5)
            ax.annotate(
                f"{100 * value:.1f}% at budget {budget}",
                (budget, value),
                xytext=(10, -18),
                textcoords="offset points",
                fontsize=8,
                color=line.get_color(),
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.9},
                zorder=6,
            )
    if baseline is not None:
        ax.axhline(baseline[0], color="grey", linestyle=":", label=baseline[1])
    ax.xaxis.set_major_locator(pyplot().MaxNLocator(integer=True))
    right = max(
        [max(xs, default=0) for xs, _, _ in curves.values()] + [b or 0 for _, _, b in curves.values()] + [1]
    )
    ax.set_xlim(-0.2, right + 0.5)  # the axis ends where the curves do
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def value_at(xs: Sequence[int], ys: Sequence[float], radius: int) -> float:
    """The step curve's value at ``radius``: that of the largest listed radius ≤ ``radius`` (0 past the end's
    zero, 0 before the first point)."""
    below = [y for x, y in zip(xs, ys) if x <= radius]
    return below[-1] if below else 0.0


RUN_FILES = ("per_text.jsonl", "summary.json", "summary.md", "config.json")


@dataclass(frozen=True)
class RunFiles:
    """The result set of one run, as read back by :func:`read_run`."""

    per_text: list[dict[str, Any]]
    summary: dict[str, Any]
    markdown: str
    config: dict[str, Any]


def write_run(
    folder: str | os.PathLike[str],
    per_text: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    markdown: str,
    config: Mapping[str, Any],
) -> Path:
    """The standard output folder of a run: :data:`RUN_FILES` as one set, then ``manifest.json``."""
    contents = (jsonl_bytes(per_text), json_bytes(summary), markdown.encode("utf-8"), json_bytes(config))
    return write_set(folder, dict(zip(RUN_FILES, contents)))


def read_run(folder: str | os.PathLike[str]) -> RunFiles:
    """The result set written by :func:`write_run`; :class:`crowd.io.IncompleteSetError` if inconsistent."""
    files = read_set(folder)
    missing = [name for name in RUN_FILES if name not in files]
    if missing:
        raise ValueError(f"{Path(folder) / 'manifest.json'}: the set lacks {', '.join(missing)}")
    text = {name: files[name].decode("utf-8") for name in RUN_FILES}
    rows = [json.loads(line) for line in text["per_text.jsonl"].splitlines() if line.strip()]
    return RunFiles(
        rows, json.loads(text["summary.json"]), text["summary.md"], json.loads(text["config.json"])
    )
